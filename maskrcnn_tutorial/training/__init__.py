"""Training and export of the ``shapes`` Mask R-CNN (PyTorch; install the ``train`` extra).

The PyTorch model in :mod:`.mirror` computes exactly what OpenCV's DNN module computes for the
exported text graph: same anchors (PriorBox, clipped before decoding), same box decoding and
variances, TF ``CropAndResize`` and ``SAME`` padding. :mod:`.export` writes the text graph and a
weights-only GraphDef without TensorFlow. Run ``python -m maskrcnn_tutorial.training --help``.

Only :mod:`.mirror`, :mod:`.targets`, :mod:`.train` and :mod:`.export` import torch; the
architecture (:mod:`.spec`), graph writer (:mod:`.graphdef`, :mod:`.graph`) and the numpy
reference layers (:mod:`.layers`) do not.
"""
