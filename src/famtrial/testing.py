"""A pytest helper for evaluators' own CI: fail when an analysis stops reproducing published numbers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from famtrial.verify import verify

__all__ = ["assert_matches_published"]


def assert_matches_published(results, spec=None, *, tolerances: Mapping[str, float] | None = None,
                             tables: Sequence[str] | None = None, allow_missing: bool = False) -> None:
    """Raise AssertionError listing every published number the results miss or miss by more than its tolerance.

    ``results``, ``spec``, ``tolerances`` and ``tables`` are as in :func:`famtrial.verify`. Use it in a
    test: ``assert_matches_published("results/", tables=["table2", "table3"])``.
    """
    report = verify(results, spec, tolerances=tolerances, tables=tables, allow_missing=allow_missing)
    if report.ok:
        return
    lines = [report.summary()]
    for key, row in report.failed.iterrows():
        if row["status"] == "missing":
            lines.append(f"  {key}: published {row['published']}, not in the results")
        elif row["difference"] is None or row["difference"] != row["difference"]:
            lines.append(f"  {key}: published {row['published']!r}, reproduced {row['reproduced']!r}")
        else:
            lines.append(f"  {key}: published {row['published']}, reproduced {float(row['reproduced']):.6g} "
                         f"(difference {row['difference']:+.4g}, tolerance {row['tolerance']:.4g})")
    raise AssertionError("\n".join(lines))
