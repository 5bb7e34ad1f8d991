"""Files in and out: images, video and webcam frames, detections as JSON and COCO RLE, and
atomic writes (nothing half-written).

:mod:`.images`, :mod:`.video`, :mod:`.results`, :mod:`.rle`, :mod:`.files` and :mod:`.quiet`
(silencing what C libraries print).
"""
