"""Looking inside: the code the notebooks teach beyond the tutorial's path.

:mod:`.anatomy` (the network's layers by stage, and taps), :mod:`.decode` (both stages'
boxes decoded by hand), :mod:`.roi` (CropAndResize and RoIAlign), :mod:`.metrics` (IoU,
matching, AP by hand), :mod:`.semantic` (semantic against instance segmentation),
:mod:`.render` (the pictures behind the explorers), :mod:`.figures` (the notebooks' matplotlib
figures, by kind: pictures, boxes, maps over the picture, histograms) and :mod:`.article` (the
LearnOpenCV article's own script: how it reads a picture and places a mask, and why its output
can differ).
"""
