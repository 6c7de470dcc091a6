r"""Randomization inference: re-draw the offer as the trial drew it, refit, compare.

The trial offered a family coordinator to families within each office. Under the sharp null of
no effect for anyone, every re-assignment that keeps each office's number of offered families is
as likely as the observed one. For R such re-draws (families permuted within office; the
family's arm goes to all its parents), the model is refitted with the rebuilt treatment
(``arm * post`` for the fixed-effects Models 1-4, ``arm`` itself for the monthly logits) and the
statistic T* (coefficient or cluster-robust z) collected::

    p = (1 + #{|T*_r| >= |T|}) / (1 + R),     Monte Carlo SE = sqrt(p (1 - p) / R)

The test is exact at any G (its size does not rest on asymptotics in the number of clusters).
Each re-draw has its own seed (``SeedSequence(seed).spawn(R)``), so results do not depend on
``n_jobs`` or on the executor. Stata: ``ritest arm _b[treat], strata(office) cluster(family)
reps(R): clogit ...``. R: ``ri2::conduct_ri``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from famtrial._options import Executor, RandomizationKind, Statistic
from famtrial._parallel import (
    map_in_processes,
    map_in_threads,
    one_kernel_thread,
    resolve_jobs,
)
from famtrial._progress import Progress
from famtrial.models.clogit import ConditionalLogit, ConditionalLogitResults
from famtrial.models.logit import Logit, LogitResults

__all__ = ["RandomizationResult", "FamilyDesign", "Refit", "ri_pvalue", "run_draws", "draw_chunk"]


@dataclass(frozen=True)
class FamilyDesign:
    """The trial's assignment: families (with their office) and the observed arm of each family.

    ``draw(rng)`` permutes the arms among the families of each office, so every office keeps its
    number of offered families.
    """

    family: np.ndarray  # family labels
    office: np.ndarray  # office of each family
    arm: np.ndarray  # observed 0/1 arm of each family

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        """A re-drawn arm vector (aligned with ``family``): one uniform key per family, arms dealt by key within office.

        Within each office the families' observed arms are given, in order, to the families sorted by
        their keys: a uniformly random permutation within office (ties have probability 0).
        """
        out: np.ndarray = self.draws_from_keys(rng.random(len(self.arm)))[0]
        return out

    def draws(self, seeds: Sequence[np.random.SeedSequence]) -> np.ndarray:
        """The re-draws of ``seeds`` (one generator each), ``(R, F)``: row r is ``draw(default_rng(seeds[r]))``."""
        keys = np.empty((len(seeds), len(self.arm)))
        for r, seed in enumerate(seeds):
            keys[r] = np.random.default_rng(seed).random(len(self.arm))
        return self.draws_from_keys(keys)

    def draws_from_keys(self, keys: np.ndarray) -> np.ndarray:
        """Re-draws from uniform keys ``(R, F)`` in [0, 1): the arms dealt within office in key order (vectorised)."""
        keys = np.atleast_2d(keys)
        codes = np.unique(self.office, return_inverse=True)[1].ravel()
        slots = np.argsort(codes, kind="stable")  # the families grouped by office, in family order
        dealt = np.argsort(codes + keys, axis=1)  # grouped by office, in key order (no ties: probability 0)
        out = np.empty(keys.shape, dtype=self.arm.dtype)
        np.put_along_axis(out, dealt, np.broadcast_to(self.arm[slots], keys.shape), axis=1)
        return out

    def offered_per_office(self, arm: np.ndarray | None = None) -> pd.Series:
        """The number of offered families in each office, of the observed arm or of ``arm`` (a re-draw)."""
        return pd.Series(self.arm if arm is None else arm).groupby(self.office).sum()


@dataclass(frozen=True)
class Refit:
    """Rebuild the treatment column(s) from a family arm vector and refit; returns T (picklable)."""

    kind: RandomizationKind
    y: np.ndarray
    exog: np.ndarray  # regressors other than the treatment columns
    names: tuple[str, ...]  # names of all regressors, treatment first
    family_code: np.ndarray  # row -> index into the design's families
    switches: np.ndarray  # (n, m) multipliers of the arm: post * model dummies (fe) or ones (monthly)
    groups: np.ndarray | None
    clusters: np.ndarray
    term_index: int
    statistic: Statistic
    start: np.ndarray | None = None
    time: np.ndarray | None = None  # categorical time (month) effects of an fe model, fitted without dummies
    time_name: str = "month"

    def fit(self, family_arm: np.ndarray) -> LogitResults | ConditionalLogitResults:
        """The model refitted with the treatment rebuilt from ``family_arm`` (one 0/1 arm per family).

        A conditional logit for ``kind="fe"``, else a logit; cluster-robust by ``clusters``, and started
        from ``start`` when it has the model's number of coefficients.
        """
        arm = family_arm[self.family_code].astype(float)
        x = np.column_stack([self.switches * arm[:, None], self.exog])
        model: ConditionalLogit | Logit
        if self.kind == "fe":
            assert self.groups is not None  # a fixed-effects refit is built with its groups
            model = ConditionalLogit(self.y, x, self.groups, names=self.names, time=self.time, time_name=self.time_name)
        else:
            model = Logit(self.y, x, names=self.names, add_constant=False)
        start = self.start if self.start is not None and len(model.exog_names) == len(self.start) else None
        return model.fit("cluster", self.clusters, start=start)

    def __call__(self, family_arm: np.ndarray) -> float:
        """The statistic T of the refit (coefficient or cluster-robust z); NaN when the term is not estimated."""
        fit = self.fit(family_arm)
        term = self.names[self.term_index]
        if term not in fit.params.index:
            return np.nan
        return float(fit.params[term] if self.statistic == "coef" else fit.tvalues[term])


def _draw(task: tuple[FamilyDesign, Refit, np.random.SeedSequence]) -> float:
    """One re-draw's statistic: ``task`` is ``(design, refit, seed)`` (the caller fixes the kernel threads)."""
    design, refit, seed = task
    return refit(design.draw(np.random.default_rng(seed)))


def draw_chunk(task: tuple[FamilyDesign, Refit, Sequence[np.random.SeedSequence]]) -> list[float]:
    """The statistics of a chunk of re-draws: ``task`` is ``(design, refit, seeds)`` (a process or Dask task)."""
    design, refit, seeds = task
    with one_kernel_thread():  # a Dask worker's process may run several kernel threads
        return [refit(design.draw(np.random.default_rng(s))) for s in seeds]


def run_draws(
    design: FamilyDesign,
    refit: Refit,
    seeds: list[np.random.SeedSequence],
    *,
    n_jobs: int | None,
    progress: bool,
    desc: str,
    executor: Executor = "auto",
) -> np.ndarray:
    """Every re-draw's statistic, in this thread, on threads of this process or in a process pool.

    ``n_jobs=1``: in this thread. Otherwise ``n_jobs`` workers (``None``: all cores), each running
    the kernel on one thread (so every executor sums in the same order and the draws are
    bitwise identical): ``executor="threads"`` and ``"auto"`` on threads of this process (nothing to
    start or pickle; the fits release the GIL in the kernels, 85% of a re-draw; processes were
    measured no faster, 1.01x), ``"processes"`` only when asked for, in a spawned pool
    (:data:`~famtrial._parallel.POOL_STARTUP_SECONDS` to start) that never re-runs the user's
    script (:func:`~famtrial._parallel.map_in_processes`), so no ``if __name__ == "__main__":`` guard
    is needed. ``"auto"`` never chooses processes: a choice that depended on the machine's load made
    runs unrepeatable. Progress moves with every re-draw on threads, every chunk (about half a second
    of work) in the pool, and the clock is redrawn at least every 0.5 s.
    """
    n = len(seeds)
    draws = np.full(n, np.nan)
    jobs = min(resolve_jobs(n_jobs), n)
    shared = (design, refit)
    with Progress(n, desc, enabled=progress) as bar, one_kernel_thread():
        if jobs == 1:
            for i in range(n):
                draws[i] = _draw((*shared, seeds[i]))
                bar.update()
            return draws
        if executor == "processes":
            bar.desc = f"{desc} ({jobs} processes)"
            _in_processes(draws, seeds, 0, shared, jobs=jobs, bar=bar, per_draw=None)
        else:
            bar.desc = f"{desc} ({jobs} threads)"
            draws[:], _ = map_in_threads(_draw, seeds, shared=shared, jobs=jobs, bar=bar)
    return draws


_Shared = tuple[FamilyDesign, Refit]


def _in_processes(
    draws: np.ndarray,
    seeds: list[np.random.SeedSequence],
    done: int,
    shared: _Shared,
    *,
    jobs: int,
    bar: Progress,
    per_draw: float | None,
) -> None:
    """The re-draws from ``done`` on in a spawned pool, written into ``draws`` in order.

    Chunks of about half a second of work (at least 4 per process) keep progress moving.
    """
    n = len(seeds)
    size = max(1, min(-(-(n - done) // (4 * jobs)), int(0.5 / per_draw) if per_draw else 8))
    parts = [list(range(a, min(a + size, n))) for a in range(done, n, size)]
    results = map_in_processes(
        draw_chunk,
        [[seeds[i] for i in part] for part in parts],
        shared=shared,
        jobs=jobs,
        bar=bar,
        units=[len(part) for part in parts],
    )
    for part, values in zip(parts, results):
        draws[part] = values


@dataclass(frozen=True)
class RandomizationResult:
    """Randomization test of the sharp null of no effect: observed T, its re-draws and the p-value."""

    term: str
    statistic: str
    observed: float
    draws: np.ndarray
    pvalue: float
    mc_se: float
    n_perm: int
    n_failed: int
    seed: int | None
    n_offices: int
    n_families: int
    description: str

    @classmethod
    def from_draws(
        cls,
        design: FamilyDesign,
        *,
        term: str,
        statistic: str,
        observed: float,
        draws: np.ndarray,
        n_perm: int,
        seed: int | None,
        description: str,
    ) -> RandomizationResult:
        """The result of ``n_perm`` requested re-draws of ``design``: the p-value (:func:`ri_pvalue`) and the counts.

        Parameters
        ----------
        design : FamilyDesign
            The assignment re-drawn (its offices and families are counted).
        term, statistic, observed, draws, seed, description
            As the fields; ``draws`` may hold NaN for re-draws without an estimate (dropped from R).
        n_perm : int
            The re-draws requested.
        """
        p, se, r = ri_pvalue(observed, draws)
        return cls(
            term=term,
            statistic=statistic,
            observed=observed,
            draws=draws,
            pvalue=p,
            mc_se=se,
            n_perm=r,
            n_failed=n_perm - r,
            seed=seed,
            n_offices=len(np.unique(design.office)),
            n_families=len(design.family),
            description=description,
        )

    def summary(self) -> str:
        """The test in words: the re-draws, the observed statistic, p and its Monte Carlo SE."""
        failed = f"; {self.n_failed} re-draws gave no estimate (dropped from R)" if self.n_failed else ""
        return (
            f"Randomization inference for {self.term} ({self.description})\n"
            f"families re-drawn within each of {self.n_offices} offices ({self.n_families:,} families, "
            f"offered count per office fixed); R = {self.n_perm:,} re-draws, seed {self.seed}{failed}\n"
            f"observed {self.statistic} = {self.observed:.4f}; p = (1 + #|T*| >= |T|)/(1 + R) = {self.pvalue:.4f} "
            f"(Monte Carlo SE {self.mc_se:.4f})"
        )

    def __str__(self) -> str:
        return self.summary()


def ri_pvalue(observed: float, draws: np.ndarray) -> tuple[float, float, int]:
    """``(p, Monte Carlo SE, R)`` with ``p = (1 + #{|T*| >= |T|}) / (1 + R)``; NaN draws are excluded."""
    d = np.asarray(draws, dtype=float)
    d = d[np.isfinite(d)]
    r = len(d)
    p = (1 + np.sum(np.abs(d) >= abs(observed) * (1 - 1e-10))) / (1 + r)
    return float(p), float(np.sqrt(p * (1 - p) / max(r, 1))), r
