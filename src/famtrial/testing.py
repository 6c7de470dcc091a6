"""A pytest helper for users' own test suites (:func:`assert_matches_published`).

Defined in :mod:`famtrial.published.testing`, importable as ``famtrial.testing``.
"""

from famtrial.published.testing import assert_matches_published

__all__ = ["assert_matches_published"]
