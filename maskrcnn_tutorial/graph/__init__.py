"""The network as a graph: OpenCV's text graph read, named, cut in two and loaded.

:mod:`.names` (the one table of the graph's layer and weight names), :mod:`.textgraph` (the
one reader of ``.pbtxt`` files), :mod:`.net` (``readNetFromTensorflow`` with the right
engine), :mod:`.split` (the graph cut into detector and mask head) and :mod:`.graphdef` (a
tiny GraphDef writer, so the project writes ``.pb`` files without TensorFlow).
"""
