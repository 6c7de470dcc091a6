"""Inference numerics: the score bootstrap, the randomization re-draw engine and multiple testing.

The wild cluster score bootstrap (:mod:`.score_bootstrap`), the re-draw engine of randomization
inference (:mod:`.randomization`) and Holm, Benjamini-Hochberg and the sup-t band (:mod:`.multiplicity`).
Like :mod:`famtrial.models`, this layer works on arrays and fitted models; it knows no plan or panel.
"""
