r"""Few-cluster inference on a Dask panel: the score bootstrap and the score randomization test from sums.

``famtrial reproduce --engine dask`` (and :func:`~famtrial.trial.few_cluster.few_cluster_inference` on a
panel loaded with ``engine="dask"``) runs the plan's few-cluster inference without bringing rows to
the client. Both tests need the model only through its log-likelihood's derivatives and sums of
score pieces, which the workers compute on their partitions (each holds whole parents) and the
client adds up:

- **the fit and the score bootstrap**: the exact conditional logit is prepared once on the workers
  (:func:`famtrial.models.distributed.prepare_conditional_logit`: the informative parents' rows in the
  kernel's layout, kept in worker memory and spilled past its limit) and kept for the whole model:
  the fit (Newton, one pass per step), its cluster-robust covariance, and every restricted fit of the
  score bootstrap's test inversion (:func:`famtrial.inference.score_bootstrap.score_bootstrap`, about 17
  restricted fits per interval, each a few passes). The bootstrap's statistic needs only the cluster
  sums of the scores (``G x k``) and the Hessian (``k x k``): boottest's ``u_i`` is linear in the scores.
- **the score randomization test** (``statistic = "score"``): the model without the treatment, with the
  treatment's direction ``d`` (``post``, or ``post`` times the office's variant) as its offset column
  (entered times 0 for the restricted fit, times ``h`` for the differences: a column instead would be
  collinear with month effects), is prepared with the *family* as its cluster; one restricted fit;
  then each partition returns, per family, ``r_f`` (the treatment's score were the family treated),
  ``c_f`` (its cross-information with the nuisance parameters) and its nuisance scores: the pieces of
  :mod:`famtrial.inference.score_randomization`, by the same Richardson differences of the same
  kernel's per-group values. The client holds one row per family (``F x (2k + 1)`` numbers) and deals
  the re-draws in blocks of a few megabytes (families within offices, the in-memory seeds), so every
  re-draw's statistic is the in-memory one.

The client's memory is bounded by the number of families and clusters, never by the rows. The Wald
and coefficient statistics refit the model for every re-draw and are not distributed: with those the
pipeline brings the informative parents' rows to the client (:func:`famtrial.trial._dask_steps.inference_panel`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from famtrial._options import TimeAdjustment
from famtrial._parallel import compute_each_partition
from famtrial.data.panel import Panel
from famtrial.errors import PlanError
from famtrial.inference.randomization import FamilyDesign, RandomizationResult
from famtrial.inference.score_bootstrap import ScoreBootstrapResult, score_bootstrap
from famtrial.inference.score_randomization import STEP, ScoreRandomization, assemble, richardson, score_statistics
from famtrial.models.distributed import PreparedConditionalLogit, group_values, prepare_conditional_logit
from famtrial.models.optim import newton
from famtrial.plan.spec import FEModel
from famtrial.trial.effects import fe_design

__all__ = ["dask_model_rows", "dask_score_randomization"]

#: The direction column's name in the randomization model (never a plan column: dunder-prefixed).
_DIRECTION = "__famtrial_direction__"
#: Re-drawn arm values dealt at once on the client (re-draws x families): about 128 MB of keys.
_BLOCK_VALUES = 16_000_000


def _prepare(
    panel: Panel,
    outcome: str,
    trend: TimeAdjustment,
    frame: Any,
    regressors: Sequence[str],
    cluster: str,
    offset: str | None = None,
) -> PreparedConditionalLogit:
    """The fixed-effects logit of ``outcome`` on ``frame`` (a Dask frame), prepared and kept on the workers."""
    cols = panel.columns
    return prepare_conditional_logit(
        frame,
        panel.plan.outcome(outcome).column,
        list(regressors),
        group=cols.parent,
        cluster=cluster,
        offset=offset,
        time_effects=cols.month if trend == "months" else None,
    )


def dask_model_rows(
    panel: Panel,
    spec: FEModel,
    design: FamilyDesign,
    weights: Any,
    *,
    seed: int | None,
    n_perm: int,
) -> tuple[Any, dict[str, tuple[ScoreBootstrapResult, RandomizationResult]]]:
    """A plan model's fit and, per treatment term, its score bootstrap and score randomization test.

    Parameters
    ----------
    panel : Panel
        The analysis panel, its ``data`` a Dask DataFrame whose partitions hold whole parents.
    spec : FEModel
        The plan model (clustered by office; a pooled or split treatment).
    design : FamilyDesign
        The trial's assignment (:func:`famtrial.trial.few_cluster.family_design`).
    weights : {"rademacher", "webb", "mammen"}
        The score bootstrap's weights.
    seed : int or None
        Seeds the drawn bootstrap weights and the re-draws, as in memory.
    n_perm : int
        Randomization re-draws.

    Returns
    -------
    fit, tests
        The model's :class:`~famtrial.models.clogit.ConditionalLogitResults` (cluster-robust by office,
        Stata's factor, normal reference: :func:`~famtrial.trial.effects.fit_plan_model`'s numbers) and
        per treatment term its ``(score bootstrap, randomization)`` results.
    """
    if spec.treatment == "dynamic":
        raise PlanError(
            f"model {spec.name!r} is dynamic: its few-cluster inference is not available on the Dask engine; "
            "leave it out of inference.models or run engine='pandas'"
        )
    cols, plan = panel.columns, panel.plan
    frame, regressors = fe_design(panel, spec.outcome, split=spec.split, trend=spec.time, covariates=spec.covariates)
    tests: dict[str, tuple[ScoreBootstrapResult, RandomizationResult]] = {}
    with _prepare(panel, spec.outcome, spec.time, frame, regressors, cols.office) as full:
        fit = full.fit(adjustment="stata", t_reference=False)
        terms = [t for t in fit.params.index if t in plan.treatment_terms]
        boots = {term: score_bootstrap(fit, term, None, weights=weights, seed=seed) for term in terms}
        fit = replace(fit, model=full.describe())  # type: ignore[arg-type]  # the partitions are released below
    for term in terms:
        ri = dask_score_randomization(
            panel,
            design,
            spec.outcome,
            term,
            split=spec.split,
            trend=spec.time,
            covariates=spec.covariates,
            seed=seed,
            n_perm=n_perm,
        )
        tests[term] = (boots[term], ri)
    return fit, tests


def _offered_variants(frame: pd.DataFrame, arm: str, office: str, parent: str, variant: str) -> pd.DataFrame:
    """A partition's offered rows' variant per office, with the office's smallest offered parent."""
    offered = frame.loc[frame[arm] == 1, [office, parent, variant]]
    return offered.sort_values(parent, kind="stable").drop_duplicates(office)


def _office_variants(panel: Panel) -> dict[Any, str]:
    """Each office's variant: that of its first offered parent (the in-memory rule: the panel sorted by parent)."""
    cols = panel.columns
    assert cols.model is not None  # a split model needs the variant column (fe_design checked)
    parts = compute_each_partition(panel.data, _offered_variants, cols.arm, cols.office, cols.parent, cols.model)
    firsts = pd.concat(parts).sort_values(cols.parent, kind="stable").drop_duplicates(cols.office)
    return {o: str(v) for o, v in zip(firsts[cols.office], firsts[cols.model])}


def _with_direction(
    part: pd.DataFrame, month: str, office: str, implementation: int, variants: dict[Any, str] | None, level: str
) -> pd.DataFrame:
    """A design partition with the tested term's direction: post, times the office's variant being ``level``."""
    post = (part[month].array.asi8 >= implementation).astype(float)
    if variants is not None:
        post = post * (part[office].map(variants).to_numpy() == level)
    return part.assign(**{_DIRECTION: post})


def _family_pieces(part: Any, params: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per family of a partition: ``r_f``, ``c_f`` and the nuisance scores at the restricted fit ``params``.

    The groups' log-likelihoods and scores with the offset ``h d`` at ``h = -2h, -h, h, 2h`` (the in-memory
    shifted models), differenced as :func:`famtrial.inference.score_randomization.richardson`.
    """
    if part.n_groups == 0:
        k = len(params)
        return np.zeros(0, dtype=object), np.zeros(0), np.zeros((0, k)), np.zeros((0, k))
    lls, scores = [], []
    for h in (-2 * STEP, -STEP, STEP, 2 * STEP):
        ll, score = group_values(part, params, offset_scale=h)
        lls.append(ll)
        scores.append(score)
    r = richardson(lls)
    c = -richardson(scores)
    nuisance = group_values(part, params, offset_scale=0.0)[1]
    codes, families = pd.factorize(part.cluster_of_group, sort=False)
    n = len(families)
    sums: list[np.ndarray] = [np.bincount(codes, weights=r, minlength=n)]
    for block in (c, nuisance):
        out = np.zeros((n, block.shape[1]))
        np.add.at(out, codes, block)
        sums.append(out)
    return np.asarray(families), sums[0], sums[1], sums[2]


def dask_score_randomization(
    panel: Panel,
    design: FamilyDesign,
    outcome: str,
    term: str,
    *,
    split: bool,
    trend: TimeAdjustment,
    covariates: Sequence[str] | None,
    seed: int | None,
    n_perm: int,
) -> RandomizationResult:
    """The score randomization test of ``term`` of a fixed-effects model on a Dask panel (module docstring).

    Parameters
    ----------
    panel : Panel
        The analysis panel on Dask (partitions of whole parents).
    design : FamilyDesign
        The assignment: families, offices, arms.
    outcome : str
        The model's outcome (plan key or column).
    term : str
        The treatment term tested (``<treatment>_pooled`` or ``<treatment>_<variant>``).
    split, trend, covariates
        The model, as :func:`~famtrial.trial.effects.fe_design` takes them.
    seed : int or None
        ``SeedSequence(seed).spawn(n_perm)``: the in-memory re-draws.
    n_perm : int
        Re-draws.

    Returns
    -------
    RandomizationResult
        The studentized score statistic, its re-draws and the p-value, as
        :func:`~famtrial.trial.few_cluster.randomization_test` with ``statistic="score"`` gives in memory.
    """
    cols, plan = panel.columns, panel.plan
    frame, regressors = fe_design(panel, outcome, split=split, trend=trend, covariates=covariates)
    treat = [r for r in regressors if r in plan.treatment_terms]
    others = [r for r in regressors if r not in treat]
    if term not in treat:
        raise ValueError(f"term {term!r} is not a treatment term of this model ({treat})")
    variants, level = None, ""
    if split:
        variants = _office_variants(panel)
        level = next(v.name for v in plan.variants if plan.term(v.name) == term)
    frame = frame.map_partitions(
        _with_direction,
        cols.month,
        cols.office,
        panel.implementation.ordinal,
        variants,
        level,
        meta=frame._meta.assign(**{_DIRECTION: np.zeros(0)}),
    )
    with _prepare(panel, outcome, trend, frame, others, cols.family, offset=_DIRECTION) as model:
        if not model.exog_names:
            raise ValueError(
                "statistic='score' needs a restricted model with at least one parameter (covariates, a trend "
                "or month effects); use statistic='wald'"
            )
        restricted = model.with_offset_scale(0.0)  # the model without the treatment
        k = len(model.exog_names)
        params = newton(restricted.derivatives, np.zeros(k), gradient=restricted.gradient).x
        information = -restricted.derivatives(params)[2]
        pieces = model.map(_family_pieces, params=params)
    score = _score_design(design, pieces, information, params)
    observed = float(score.statistics(design.arm)[0])
    seeds = np.random.SeedSequence(seed).spawn(n_perm)
    block = max(1, _BLOCK_VALUES // max(len(design.family), 1))
    draws = np.concatenate(
        [score_statistics(score, design.draws(seeds[i : i + block])) for i in range(0, n_perm, block)]
    )
    return RandomizationResult.from_draws(
        design,
        term=term,
        statistic="score",
        observed=observed,
        draws=draws,
        n_perm=n_perm,
        seed=seed,
        description=f"fixed-effects logit of {outcome}, {'split' if split else 'pooled'} treatment",
    )


def _score_design(
    design: FamilyDesign, pieces: list[Any], information: np.ndarray, params: np.ndarray
) -> ScoreRandomization:
    """The partitions' per-family pieces summed by family (a family may span partitions) and assembled."""
    labels = np.concatenate([p[0] for p in pieces])
    r = pd.Series(np.concatenate([p[1] for p in pieces])).groupby(labels, sort=True).sum()
    c = pd.DataFrame(np.concatenate([p[2] for p in pieces])).groupby(labels, sort=True).sum()
    nuisance = pd.DataFrame(np.concatenate([p[3] for p in pieces])).groupby(labels, sort=True).sum()
    unit = np.searchsorted(design.family, r.index.to_numpy())
    _, cluster = np.unique(design.office[unit], return_inverse=True)
    return assemble(
        r.to_numpy(),
        c.to_numpy(),
        nuisance.to_numpy(),
        unit.astype(np.int64),
        cluster.ravel().astype(np.int64),
        len(design.family),
        information,
        params,
    )
