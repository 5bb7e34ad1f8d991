"""The series as a static HTML book (``make book``): staging (:mod:`book.stage`), the Sphinx
configuration (``conf.py``) and the build command (:mod:`book.build`)."""
