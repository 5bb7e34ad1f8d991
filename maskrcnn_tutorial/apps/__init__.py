"""What people run: the command line, the workshop check, the notebook explorers and the
classroom app.

:mod:`.cli` (``maskrcnn-tutorial``), :mod:`.doctor` (is this laptop ready?),
:mod:`.explorers` (ipywidgets sliders around :mod:`maskrcnn_tutorial.explain.render`),
:mod:`.app` (the classroom app), :mod:`.server` (serving it with Voila) and :mod:`.kernels`.
"""
