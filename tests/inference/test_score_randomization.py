"""Score-statistic randomization inference against an independent numpy implementation (tests/reference/).

The reference enumerates the exact conditional distribution of every group's ones and fits the restricted
model with scipy's BFGS; famtrial uses its compiled kernels, Newton and Richardson differences. The
statistics must agree to 1e-6 (relative) for a fixed set of 300 re-draws, and the randomization p-values
exactly.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from famtrial.inference.randomization import FamilyDesign, ri_pvalue
from famtrial.inference.score_randomization import (
    clogit_score_randomization,
    logit_score_randomization,
    score_statistics,
)

_spec = importlib.util.spec_from_file_location(
    "score_ri_reference", Path(__file__).parents[1] / "reference" / "score_ri_reference.py"
)
ref = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ref)

RTOL = 1e-6


def _trial(seed: int = 3, clusters: int = 6, families: int = 4, months: int = 5):
    """A small panel: families within clusters, 1-2 persons per family, ``months`` rows per person."""
    rng = np.random.default_rng(seed)
    fam_cluster = np.repeat(np.arange(clusters), families)
    fam_arm = np.concatenate([rng.permutation([1] * (families // 2) + [0] * (families - families // 2))] * clusters)
    rows = []
    person = 0
    for f, c in enumerate(fam_cluster):
        for _ in range(rng.integers(1, 3)):
            alpha = rng.normal()
            for t in range(months):
                rows.append((person, f, c, t, rng.normal(), alpha))
            person += 1
    data = np.array(rows)
    group, family, cluster, month, x1, alpha = (data[:, j] for j in range(6))
    family = family.astype(int)
    post = (month >= 2).astype(float)
    eta = alpha + 0.5 * x1 + 0.1 * month + 0.4 * fam_arm[family] * post + rng.normal(0, 0.3, size=len(group))
    y = (rng.random(len(group)) < 1 / (1 + np.exp(-eta))).astype(float)
    design = FamilyDesign(family=np.arange(len(fam_cluster)), office=fam_cluster, arm=fam_arm.astype(np.int8))
    return y, x1, month, post, group, family, cluster, design


def _redraws(design: FamilyDesign, n: int = 300) -> np.ndarray:
    return design.draws(np.random.SeedSequence(20161001).spawn(n))


@pytest.mark.parametrize("case", ["trend", "months", "weights"])
def test_clogit_score_statistics_match_the_enumerated_reference(case: str) -> None:
    y, x1, month, post, group, family, cluster, design = _trial()
    if case == "months":
        x, time, weights = x1[:, None], month, None
    else:
        x, time = np.column_stack([x1, month]), None
        weights = None if case == "trend" else 0.5 + (group % 3)  # one weight per person
    ours = clogit_score_randomization(
        y, x, group, post, family, len(design.family), cluster, time=time, weights=weights, weight_type="pweight"
    )
    theirs = ref.clogit_pieces(y, x, group, post, family, cluster, time=time, weights=weights)
    arms = _redraws(design)
    got = score_statistics(ours, arms)
    want = np.array([ref.statistic(theirs, a) for a in arms])
    np.testing.assert_allclose(got, want, rtol=RTOL)
    observed, observed_ref = ours.statistics(design.arm)[0], ref.statistic(theirs, design.arm)
    assert observed == pytest.approx(observed_ref, rel=RTOL)
    assert ri_pvalue(observed, got)[0] == ref.pvalue(observed_ref, want)


def test_logit_score_statistics_match_the_reference() -> None:
    """A month's cross-section: a logit of the outcome on an intercept and a baseline control."""
    y, x1, month, post, group, family, cluster, design = _trial(seed=5, families=6, months=1)
    x = np.column_stack([np.ones(len(y)), x1])
    ours = logit_score_randomization(y, x, np.ones(len(y)), family, len(design.family), cluster)
    theirs = ref.logit_pieces(y, x, np.ones(len(y)), family, cluster)
    arms = _redraws(design)
    got = score_statistics(ours, arms)
    want = np.array([ref.statistic(theirs, a) for a in arms])
    np.testing.assert_allclose(got, want, rtol=RTOL)
    observed = ours.statistics(design.arm)[0]
    assert ri_pvalue(observed, got)[0] == ref.pvalue(ref.statistic(theirs, design.arm), want)


def test_redraws_keep_every_office_count_and_match_single_draws() -> None:
    *_, design = _trial()
    seeds = np.random.SeedSequence(7).spawn(50)
    arms = design.draws(seeds)
    for seed, row in zip(seeds, arms):
        np.testing.assert_array_equal(row, design.draw(np.random.default_rng(seed)))
        np.testing.assert_array_equal(design.offered_per_office(row), design.offered_per_office())
    assert len({row.tobytes() for row in arms}) > 40  # the re-draws differ


def test_units_must_nest_in_clusters() -> None:
    y, x1, month, post, group, family, cluster, design = _trial()
    with pytest.raises(ValueError, match="nest"):
        logit_score_randomization(
            y, np.column_stack([np.ones(len(y)), x1]), post, family, len(design.family), np.arange(len(y)) % 5
        )
