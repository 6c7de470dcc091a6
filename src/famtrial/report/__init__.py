"""Reporting: tables of fitted models, figures and the one-page report; it consumes results, never fits.

Tables of fitted models side by side (:mod:`.compare`), figures (:mod:`.plots`, :mod:`.flowchart`) and
the one-page report (:mod:`.html`).
"""

from famtrial._compat import moved_names

__getattr__ = moved_names(__name__)
