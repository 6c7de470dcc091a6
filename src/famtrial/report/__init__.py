"""Reporting: tables of fitted models side by side (:mod:`.compare`), figures (:mod:`.plots`,
:mod:`.flowchart`) and the one-page report (:mod:`.html`). Reporting consumes results; it never fits.
"""

from famtrial._compat import moved_names

__getattr__ = moved_names(__name__)
