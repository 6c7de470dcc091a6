"""A pytest helper for users' own test suites: fail when an analysis stops reproducing published numbers.

Example
-------
>>> from famtrial.testing import assert_matches_published
>>> def test_tables_5_and_6():
...     assert_matches_published("results/", tables=["table5", "table6"], tolerances={"table5": 0.01})
>>> def test_my_report_does_not_drift():  # a spec frozen with `famtrial freeze`
...     assert_matches_published("results/", spec="tests/published_numbers.toml")
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from famtrial.published.verify import Spec, verify

__all__ = ["assert_matches_published"]


def assert_matches_published(
    results,
    spec: Spec | str | Path | None = None,
    *,
    tolerances: Mapping[str, float] | None = None,
    tables: Sequence[str] | None = None,
    allow_missing: bool = False,
) -> None:
    """Raise AssertionError listing every published number that the results miss or miss by more than its tolerance.

    Parameters are those of :func:`famtrial.published.verify.verify`; ``spec`` is any published-number spec,
    e.g. one written by ``famtrial freeze`` from a delivered report (``spec="tests/published_numbers.toml"``;
    docs/ci.md), default the trial's paper. The message has one line per failing key:
    published (as printed), reproduced, difference and tolerance; ``missing`` keys are listed too.
    Entries the paper contradicts itself on (status ``note``) never fail.
    """
    __tracebackhide__ = True  # pytest shows the user's call, not this frame
    report = verify(results, spec, tolerances=tolerances, tables=tables, allow_missing=allow_missing)
    if report.ok:
        return
    failed = report.failed
    width = max(len(k) for k in failed.index)
    lines = [
        f"{len(failed)} of {len(report.frame)} published numbers do not match "
        "(tolerance: half a unit of the printed last digit unless widened):"
    ]
    for key, row in failed.iterrows():
        if row["status"] == "missing":
            lines.append(f"  {key:<{width}}  published {row['printed']:>8}  missing from the results")
        elif isinstance(row["difference"], float) and not math.isnan(row["difference"]):
            lines.append(
                f"  {key:<{width}}  published {row['printed']:>8}  reproduced {row['reproduced']:.6g}  "
                f"difference {row['difference']:+.4g}  tolerance {row['tolerance']:.4g}"
            )
        else:
            lines.append(
                f"  {key:<{width}}  published {row['printed']!r}  reproduced {row['reproduced']!r}"
                + (f"  ({row['note']})" if row["note"] else "")
            )
    raise AssertionError("\n".join(lines))
