"""Looking inside: the code the notebooks teach beyond the tutorial's path.

:mod:`.anatomy` (the network's layers by stage, and taps), :mod:`.decode` (both stages'
boxes decoded by hand), :mod:`.roi` (CropAndResize and RoIAlign), :mod:`.metrics` (IoU,
matching, AP by hand), :mod:`.semantic` (semantic against instance segmentation) and
:mod:`.render` (the pictures behind the explorers) and :mod:`.figures` (the notebooks' matplotlib
figures, by kind: pictures, boxes, maps over the picture, histograms).
"""
