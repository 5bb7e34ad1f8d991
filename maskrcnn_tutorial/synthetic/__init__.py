"""Synthetic data with exact ground truth: seeded scenes for the ``shapes`` model, the sample
pictures of whichever model is active, and COCO-style evaluation on held-out scenes.

:mod:`.scenes`, :mod:`.samples` and :mod:`.evaluate`.
"""
