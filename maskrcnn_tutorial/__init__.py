"""maskrcnn_tutorial: instance segmentation with Mask R-CNN through OpenCV's DNN module."""

__version__ = "0.1.0"
