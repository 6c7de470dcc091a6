"""One :class:`~famtrial.errors.FewClustersWarning` per model, not one per refit.

A model refitted many times (the monthly series' one logit per month, the randomization test's
re-draws) would repeat the covariance's warning once per fit: 200 identical lines for one
analysis. :func:`few_clusters_once` records the warnings of the fits in its block and gives the
few-cluster warning once, naming the model and how many of its fits rest on few clusters; every
other warning is given as it came.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from famtrial.errors import FewClustersWarning

__all__ = ["few_clusters_once"]


@contextmanager
def few_clusters_once(what: str, *, quiet: bool = False) -> Iterator[None]:
    """Give the block's :class:`FewClustersWarning` once, for ``what`` (e.g. ``"the monthly series of y"``).

    Parameters
    ----------
    what : str
        The model the block fits, named in the warning.
    quiet : bool
        Drop the block's few-cluster warnings altogether (refits of a model whose own fit has
        already warned, as a randomization test's re-draws).

    Notes
    -----
    ``warnings.catch_warnings`` swaps the process's warning filters: the block's worker threads
    (the executors join before the block ends) are recorded with the calling thread.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    few = [w for w in caught if issubclass(w.category, FewClustersWarning)]
    for w in caught:
        if not issubclass(w.category, FewClustersWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
    if few and not quiet:
        first = str(few[0].message)
        count = f" ({len(few)} fits)" if len(few) > 1 else ""
        warnings.warn(f"{what}{count}: {first}", FewClustersWarning, stacklevel=3)
