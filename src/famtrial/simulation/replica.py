"""A synthetic replica of the family-coordinator trial panel, built from a seed and a TOML file.

The design (parents per office and arm, Table 2; families; HOLF offices) and the baseline
(Table 3 counts exactly per arm, means/SDs to the printed two decimals, Table 4 correlations
approximately) are imposed; outcomes come from a parent fixed-effects logit whose every true
parameter sits in the TOML (``data/synthetic/replica.toml``).

Regenerate the shipped file::

    famtrial synthesize --config data/synthetic/replica.toml --out data/synthetic
    # or, in Python: famtrial.simulation.replica.write_replica("data/synthetic", "data/synthetic/replica.toml")

The panel is synthetic. It is calibrated to published aggregates only and says nothing new about
the real families.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from famtrial._paths import data_dir

__all__ = ["ReplicaConfig", "OutcomeParams", "generate", "write_replica", "baseline_report", "content_hash"]

BINARY = ("female", "married", "immigrant", "reduced_work_capacity", "activation", "employed")
CONTINUOUS = ("year_of_birth", "n_children")


@dataclass(frozen=True)
class OutcomeParams:
    """True parameters of one outcome's fixed-effects logit (see the TOML for the formula)."""

    intercept: float
    intercept_sd: float
    trend: float
    b_children: float
    b_married: float
    b_rwc: float
    tau_local: float
    tau_holf: float
    office_effect_sd_local: float = 0.0
    office_effect_sd_holf: float = 0.0
    office_sd_children: float = 0.0
    office_sd_married: float = 0.0
    office_sd_rwc: float = 0.0
    office_sd_trend: float = 0.0
    path: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ReplicaConfig:
    """Everything the generator needs; ``ReplicaConfig.load()`` reads the shipped TOML."""

    seed: int
    panel: dict
    design: dict
    baseline: dict
    dynamics: dict
    outcomes: dict[str, OutcomeParams]

    @classmethod
    def load(cls, path: str | Path | None = None) -> ReplicaConfig:
        """The configuration in the TOML file ``path`` (default: the shipped ``replica.toml``), validated."""
        path = Path(path) if path is not None else data_dir() / "synthetic" / "replica.toml"
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        missing = {"seed", "panel", "design", "baseline", "dynamics", "outcomes"} - set(raw)
        if missing:
            raise ValueError(f"{path}: sections {sorted(missing)} are missing")
        outcomes = {name: OutcomeParams(**vals) for name, vals in raw["outcomes"].items()}
        cfg = cls(
            seed=raw["seed"],
            panel=raw["panel"],
            design=raw["design"],
            baseline=raw["baseline"],
            dynamics=raw["dynamics"],
            outcomes=outcomes,
        )
        cfg.validate()
        return cfg

    def validate(self) -> None:
        """Raise ``ValueError`` unless the configuration is complete.

        It needs parents, the outcomes ``activation`` and ``employed``, and every office of
        ``design.holf_offices`` in ``design.parents``.
        """
        parents = self.design["parents"]
        if sum(sum(v) for v in parents.values()) <= 0:
            raise ValueError("design.parents is empty")
        for name in ("activation", "employed"):
            if name not in self.outcomes:
                raise ValueError(f"[outcomes.{name}] is missing")
        bad = [o for o in self.design["holf_offices"] if str(o) not in parents]
        if bad:
            raise ValueError(f"design.holf_offices lists offices not in design.parents: {bad}")

    def with_outcome(self, name: str, **changes) -> ReplicaConfig:
        """A copy with some outcome parameters changed (for calibration and Monte Carlo)."""
        from dataclasses import replace

        outcomes = dict(self.outcomes)
        outcomes[name] = replace(outcomes[name], **changes)
        return replace(self, outcomes=outcomes)


# -- design ------------------------------------------------------------------------------------
def _families(cfg: ReplicaConfig) -> pd.DataFrame:
    """One row per parent: office, arm, family id, two-parent flag; family-level rule respected."""
    parents = {int(k): v for k, v in cfg.design["parents"].items()}
    offices = sorted(parents)
    coord = np.array([parents[o][0] for o in offices])
    ordin = np.array([parents[o][1] for o in offices])
    share_parents = ordin / (coord + ordin)
    # included offices: the family rule with all-single families would include them; the paper's list
    included = share_parents > 0.25
    inc_fam = cfg.design["included_families"]
    two = {}
    for arm, counts, target in ((1, coord, inc_fam[0]), (0, ordin, inc_fam[1])):
        n_two = counts[included].sum() - target  # two-parent families needed among included offices
        alloc = np.zeros(len(offices), int)
        if n_two > 0:
            weights = np.where(included, counts, 0).astype(float)
            raw = n_two * weights / weights.sum()
            alloc = np.floor(raw).astype(int)
            rest = n_two - alloc.sum()
            alloc[np.argsort(-(raw - alloc))[:rest]] += 1
        two[arm] = alloc
    # keep the family rule for included offices: move ordinary two-parent families to the largest office
    for i in np.flatnonzero(included).tolist():
        while 3 * (ordin[i] - two[0][i]) < (coord[i] - two[1][i]) + (ordin[i] - two[0][i]):
            j = int(np.argmax(np.where(included, ordin - 2 * two[0], -1)))
            two[0][i] -= 1
            two[0][j] += 1
    # excluded offices: ordinary parents single; offered families from the total
    n_exc_fam = cfg.design["total_families"] - sum(inc_fam) - ordin[~included].sum()
    exc_two = coord[~included].sum() - n_exc_fam
    weights = np.where(~included, coord, 0).astype(float)
    raw = exc_two * weights / weights.sum()
    alloc = np.floor(raw).astype(int)
    alloc[np.argsort(-(raw - alloc))[: exc_two - alloc.sum()]] += 1
    two[1] = np.where(included, two[1], alloc)
    rows = []
    fam_id = 0
    for i, office in enumerate(offices):
        for arm, count in ((1, coord[i]), (0, ordin[i])):
            n_two = two[arm][i]
            sizes = np.r_[np.full(n_two, 2), np.ones(count - 2 * n_two, int)]
            fam = fam_id + np.repeat(np.arange(len(sizes)), sizes)
            fam_id += len(sizes)
            rows.append(
                pd.DataFrame(
                    {"office": office, "arm": arm, "family_id": fam + 1, "two_parent": np.repeat(sizes == 2, sizes)}
                )
            )
    people = pd.concat(rows, ignore_index=True)
    people["included"] = people["office"].isin(np.array(offices)[included])
    holf = set(int(o) for o in cfg.design["holf_offices"])
    people["model"] = np.where(people["arm"] == 0, "ordinary", np.where(people["office"].isin(holf), "holf", "local"))
    people.insert(0, "parent_id", np.arange(1, len(people) + 1))
    return people


# -- baseline ----------------------------------------------------------------------------------
def _target_corr(cfg: ReplicaConfig) -> np.ndarray:
    tri = cfg.baseline["correlations"]
    k = len(cfg.baseline["correlation_order"])
    r = np.eye(k)
    for i in range(k):
        for j, v in enumerate(tri[i]):
            r[i, j] = r[j, i] = v
    return r


def _nearest_pd(r: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((r + r.T) / 2)
    r = v @ np.diag(np.clip(w, 1e-3, None)) @ v.T
    d = np.sqrt(np.diag(r))
    return r / np.outer(d, d)


def _fit_integer(
    values: np.ndarray,
    mean: float,
    sd: float,
    lo: float,
    rng: np.random.Generator,
    printed: tuple[float, float] | None = None,
) -> np.ndarray:
    """Integers near ``values`` with mean and SD within 0.0015 of the targets, rounding to ``printed``.

    Rounds, then takes +/-1 steps on random units, keeping a step only when it brings the mean
    and SD closer to the targets.
    """
    pm, ps = printed or (mean, sd)
    x = np.maximum(np.round(values), lo)
    n = len(x)
    s1, s2 = x.sum(), (x**2).sum()

    def loss(t1, t2):
        m = t1 / n
        var = (t2 - n * m * m) / (n - 1)
        return ((m - mean) / 0.001) ** 2 + ((np.sqrt(max(var, 0.0)) - sd) / 0.001) ** 2

    current = loss(s1, s2)
    for _ in range(500000):
        m = s1 / n
        sdev = np.sqrt((s2 - n * m * m) / (n - 1))
        if (
            abs(m - mean) < 0.0015
            and abs(sdev - sd) < 0.0015
            and abs(round(m, 2) - pm) < 1e-9
            and abs(round(sdev, 2) - ps) < 1e-9
        ):
            return x
        i, j = rng.integers(n, size=2)
        if rng.random() < 0.5:  # one unit +/-1: moves the mean (and the spread)
            step = 1.0 if rng.random() < 0.5 else -1.0
            if x[i] + step < lo:
                continue
            t1, t2 = s1 + step, s2 + 2 * step * x[i] + 1
            new = loss(t1, t2)
            if new < current:
                x[i] += step
                s1, s2, current = t1, t2, new
        elif i != j and x[j] - 1 >= lo:  # one unit up, another down: the mean stays, the spread moves
            t2 = s2 + 2 * (x[i] - x[j]) + 2
            new = loss(s1, t2)
            if new < current:
                x[i] += 1
                x[j] -= 1
                s2, current = t2, new
    raise RuntimeError(f"could not match mean {mean} and SD {sd} at two decimals")


def _baseline(cfg: ReplicaConfig, people: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Baseline covariates and outcomes: exact counts per arm in included offices, copula correlations."""
    order = list(cfg.baseline["correlation_order"])
    target = _target_corr(cfg)
    inc = people["included"].to_numpy()
    arm = people["arm"].to_numpy()
    n = len(people)
    z = rng.standard_normal((n, len(order)))
    # binary variables need stronger latent correlations than their phi: iterate the latent
    # correlation towards the printed one, measured on the analysed parents
    latent_r = target.copy()
    for _ in range(12):
        chol = np.linalg.cholesky(_nearest_pd(latent_r))
        latent = z @ chol.T
        out = _threshold(cfg, order, latent, arm, inc, rng)
        achieved = pd.DataFrame(out).loc[inc, order].corr().to_numpy()
        latent_r = latent_r + 1.2 * (target - achieved) * (1 - np.eye(len(order)))
    frame = pd.DataFrame(out)
    frame["latent_activation"] = latent[:, order.index("activation")]
    frame["latent_employed"] = latent[:, order.index("employed")]
    return frame


def _threshold(cfg, order, latent, arm, inc, rng) -> dict:
    out = {}
    seed_state = np.random.default_rng(int(abs(latent[0, 0]) * 1e6) % (2**32))  # deterministic per draw
    for j, var in enumerate(order):
        col = latent[:, j]
        values = np.zeros(len(col))
        for a in (1, 0):
            sel_all = arm == a
            for group in (inc, ~inc):
                sel = sel_all & group
                if not sel.any():
                    continue
                if var in BINARY:
                    if group is inc:
                        k = cfg.baseline[var][0 if a == 1 else 1]
                    else:  # excluded offices: the included arm's prevalence
                        k = int(round(sel.sum() * cfg.baseline[var][0 if a == 1 else 1] / (inc & sel_all).sum()))
                    ranks = np.argsort(np.argsort(-col[sel]))
                    values[sel] = (ranks < k).astype(float)
                else:
                    printed = cfg.baseline[var][0 if a == 1 else 1]
                    mean, sd = cfg.baseline.get(f"{var}_unrounded", cfg.baseline[var])[0 if a == 1 else 1]
                    zc = (col[sel] - col[sel].mean()) / col[sel].std(ddof=1)
                    lo = 1 if var == "n_children" else 1932
                    if var == "n_children":  # right-skewed counts from 1 up
                        zc = stats.gamma.ppf(stats.norm.cdf(zc), a=3.0)
                        zc = (zc - zc.mean()) / zc.std(ddof=1)
                    raw = mean + sd * zc
                    # exact printed moments in the analysed offices; rounded values elsewhere
                    values[sel] = (
                        _fit_integer(raw, mean, sd, lo, seed_state, tuple(printed))
                        if group is inc
                        else np.maximum(np.round(raw), lo)
                    )
        out[var] = values
    return out


# -- panel ---------------------------------------------------------------------------------------
def _markov(
    start: np.ndarray, months: int, base_idx: int, p_on: float, p_off: float, rng: np.random.Generator
) -> np.ndarray:
    """0/1 chains equal to ``start`` at ``base_idx``, switching with the given rates forwards and backwards."""
    n = len(start)
    out = np.empty((n, months))
    out[:, base_idx] = start
    for direction in (1, -1):
        t = base_idx + direction
        while 0 <= t < months:
            prev = out[:, t - direction]
            u = rng.random(n)
            out[:, t] = np.where(prev == 1, (u >= p_off).astype(float), (u < p_on).astype(float))
            t += direction
    return out


def _counts_walk(
    start: np.ndarray, months: int, base_idx: int, p_up: float, p_down: float, rng: np.random.Generator
) -> np.ndarray:
    n = len(start)
    out = np.empty((n, months))
    out[:, base_idx] = start
    for direction in (1, -1):
        t = base_idx + direction
        while 0 <= t < months:
            prev = out[:, t - direction]
            u = rng.random(n)
            up, down = (p_up, p_down) if direction == 1 else (p_down, p_up)
            step = np.where(u < up, 1, np.where(u > 1 - down, -1, 0))
            out[:, t] = np.maximum(prev + step, 0)
            t += direction
    return out


def _tilt_married(cfg: ReplicaConfig, people: pd.DataFrame, married: np.ndarray, b: int, seed: int) -> np.ndarray:
    """Married paths with a chance local/HOLF imbalance in their change at implementation.

    A share ``dynamics.married_tilt`` of the offered parents (uniform draws u_i < share) gets a
    second path from the same Markov chain and keeps the one whose lift, mean(post) - mean(pre),
    is larger in local and smaller in HOLF offices. This reproduces the covariance of married
    with the local/HOLF contrast behind the paper's married OR moving from Model 3 to Model 4
    (docs/replica.md). Draws come from their own stream, so ``married_tilt = 0`` changes nothing.
    """
    share = cfg.dynamics.get("married_tilt", 0.0)
    if share <= 0:
        return married
    rng = np.random.default_rng([seed, 2])
    switch = cfg.dynamics["married_switch"]
    alt = _markov(married[:, b], married.shape[1], b, switch, switch, rng)
    sign = np.where(people["model"].to_numpy() == "holf", -1.0, 1.0) * (people["arm"].to_numpy() == 1)

    def lift(m: np.ndarray) -> np.ndarray:
        return sign * (m[:, b:].mean(axis=1) - m[:, :b].mean(axis=1))

    take = (rng.random(len(people)) < share) & (lift(alt) > lift(married))
    return np.where(take[:, None], alt, married)


@dataclass(frozen=True)
class _Paths:
    """The monthly covariate paths (parents x months) and the implementation month's index."""

    months: pd.PeriodIndex
    b: int
    married: np.ndarray
    rwc: np.ndarray
    kids: np.ndarray


def _covariate_paths(
    cfg: ReplicaConfig, people: pd.DataFrame, base: pd.DataFrame, rng: np.random.Generator, seed: int
) -> _Paths:
    """The months and the married, reduced-work-capacity and children paths around the baseline values."""
    months = pd.period_range(cfg.panel["first_month"], cfg.panel["last_month"], freq="M")
    impl = pd.Period(cfg.panel["implementation"], "M")
    b = int(np.flatnonzero(months == impl)[0])
    T = len(months)
    dyn = cfg.dynamics
    married = _markov(base["married"].to_numpy(), T, b, dyn["married_switch"], dyn["married_switch"], rng)
    married = _tilt_married(cfg, people, married, b, seed)
    rwc = _markov(base["reduced_work_capacity"].to_numpy(), T, b, dyn["rwc_onset"], dyn["rwc_recovery"], rng)
    kids = _counts_walk(base["n_children"].to_numpy(), T, b, dyn["birth"], dyn["child_leaves"], rng)
    return _Paths(months=months, b=b, married=married, rwc=rwc, kids=kids)


def _outcome(
    cfg: ReplicaConfig,
    name: str,
    prm: OutcomeParams,
    people: pd.DataFrame,
    base: pd.DataFrame,
    paths: _Paths,
    rng: np.random.Generator,
) -> np.ndarray:
    """One outcome's 0/1 matrix (parents x months) from its fixed-effects logit, the baseline month forced."""
    months, b, kids, married, rwc = paths.months, paths.b, paths.kids, paths.married, paths.rwc
    T, n = len(months), len(people)
    arm = people["arm"].to_numpy()
    treat = arm[:, None] * (np.arange(T) >= b).astype(float)[None, :]
    office_codes, office_labels = pd.factorize(people["office"])
    is_holf = (people["model"] == "holf").to_numpy()
    # office-level heterogeneity of the treatment effect and of the covariate slopes (always drawn,
    # so the random stream does not depend on the parameter values)
    z_office = rng.standard_normal((len(office_labels), 5))[office_codes]
    a = prm.intercept + prm.intercept_sd * base[f"latent_{name}"].to_numpy()
    tau = np.where(
        is_holf,
        prm.tau_holf + prm.office_effect_sd_holf * z_office[:, 0],
        prm.tau_local + prm.office_effect_sd_local * z_office[:, 0],
    )
    b_kids = prm.b_children + prm.office_sd_children * z_office[:, 1]
    b_married = prm.b_married + prm.office_sd_married * z_office[:, 2]
    b_rwc = prm.b_rwc + prm.office_sd_rwc * z_office[:, 3]
    trend = prm.office_sd_trend * z_office[:, 4] * (1 - arm)  # office deviation of the ordinary arm's trend
    path = np.array([prm.path.get(str(m), 0.0) for m in months])
    # office slope deviations act on centred covariates (the trend's on months since the
    # implementation month), so they vary effects without shifting office outcome levels
    # (which would confound the pooled cross-sectional contrast)
    eta = (
        a[:, None]
        + prm.trend * np.arange(T)[None, :]
        + trend[:, None] * (np.arange(T) - b)[None, :]
        + prm.b_children * kids
        + (b_kids - prm.b_children)[:, None] * (kids - kids.mean())
        + prm.b_married * married
        + (b_married - prm.b_married)[:, None] * (married - married.mean())
        + prm.b_rwc * rwc
        + (b_rwc - prm.b_rwc)[:, None] * (rwc - rwc.mean())
        + treat * tau[:, None]
        + arm[:, None] * path[None, :]
    )
    p = expit(eta)
    y = (rng.random((n, T)) < p).astype(np.int8)
    # the baseline month is the copula's draw (exact Table 3 counts); the intercepts a_i follow
    # the same latent score, so the forced values agree with each parent's propensity. The
    # forcing makes one month non-random given a_i: force_baseline = false gives the pure model.
    if cfg.panel.get("force_baseline", True):
        y[:, b] = base[name].to_numpy()
    return y


def _observed(cfg: ReplicaConfig, n: int, T: int, b: int, rng: np.random.Generator) -> np.ndarray:
    """Which parent-months are observed: a share of parents miss a few months, never the baseline month."""
    keep = np.ones((n, T), bool)
    gap_parents = rng.random(n) < cfg.panel["gap_share"]
    for i in np.flatnonzero(gap_parents):
        k = rng.integers(1, cfg.panel["gap_max_months"] + 1)
        choices = rng.choice(np.r_[0:b, b + 1 : T], size=k, replace=False)
        keep[i, choices] = False
    return keep


def _long_panel(
    people: pd.DataFrame, base: pd.DataFrame, paths: _Paths, outcomes: dict[str, np.ndarray], keep: np.ndarray
) -> pd.DataFrame:
    """One row per observed parent-month: identifiers, arm, outcomes and covariates in their stored types."""
    T, n = len(paths.months), len(people)
    rows = np.flatnonzero(keep.ravel())
    rep = lambda v: np.repeat(np.asarray(v), T)[rows]  # noqa: E731
    return pd.DataFrame(
        {
            "parent_id": rep(people["parent_id"]),
            "family_id": rep(people["family_id"]),
            "office": rep(people["office"]),
            "month": np.tile(paths.months.astype(str).to_numpy(), n)[rows],
            "arm": rep(people["arm"].to_numpy()).astype(np.int8),
            "model": rep(people["model"]),
            "activation": outcomes["activation"].ravel()[rows],
            "employed": outcomes["employed"].ravel()[rows],
            "married": paths.married.ravel()[rows].astype(np.int8),
            "n_children": paths.kids.ravel()[rows].astype(np.int16),
            "reduced_work_capacity": paths.rwc.ravel()[rows].astype(np.int8),
            "female": rep(base["female"]).astype(np.int8),
            "year_of_birth": rep(base["year_of_birth"]).astype(np.int16),
            "immigrant": rep(base["immigrant"]).astype(np.int8),
        }
    )


def generate(config: ReplicaConfig | None = None, seed: int | None = None) -> pd.DataFrame:
    """The long panel (one row per parent per month) from ``config`` (default: the shipped TOML).

    Deterministic given the config and ``seed`` (default: the config's seed). Baseline-month
    values in the analysed offices hit Table 3 exactly for any seed.
    """
    cfg = ReplicaConfig.load() if config is None else config
    seed = cfg.seed if seed is None else seed
    rng = np.random.default_rng(seed)
    people = _families(cfg)
    base = _baseline(cfg, people, rng)
    paths = _covariate_paths(cfg, people, base, rng, seed)
    outcomes = {name: _outcome(cfg, name, prm, people, base, paths, rng) for name, prm in cfg.outcomes.items()}
    keep = _observed(cfg, len(people), len(paths.months), paths.b, rng)
    return _long_panel(people, base, paths, outcomes, keep)


# -- reporting -----------------------------------------------------------------------------------
def baseline_report(panel: pd.DataFrame, config: ReplicaConfig | None = None) -> pd.DataFrame:
    """Achieved vs printed Table 4 correlations (lower triangle) on the analysed offices at baseline."""
    from famtrial.data.load import load_panel
    from famtrial.trial.sample import analysis_sample

    cfg = ReplicaConfig.load() if config is None else config
    sample = analysis_sample(load_panel(panel))
    base = sample.panel.baseline_frame()
    order = ["arm", *cfg.baseline["correlation_order"]]
    achieved = base[order].astype(float).corr()
    target = _target_corr(cfg)
    rows = []
    for i in range(1, len(order)):
        for j in range(i):
            printed = None if j == 0 else target[i - 1, j - 1]
            rows.append(
                {
                    "row": order[i],
                    "column": "experimental" if j == 0 else order[j],
                    "achieved": achieved.iloc[i, j],
                    "printed": printed,
                    "difference": None if printed is None else achieved.iloc[i, j] - printed,
                }
            )
    return pd.DataFrame(rows)


def content_hash(panel: pd.DataFrame) -> str:
    """SHA-256 of the panel's values (column names, then each column's CSV text)."""
    h = hashlib.sha256()
    h.update(",".join(panel.columns).encode())
    h.update(panel.to_csv(index=False).encode())
    return h.hexdigest()


def write_replica(out_dir: str | Path, config_path: str | Path | None = None, *, csv: bool = True) -> Path:
    """Generate from the TOML and write ``trial_panel.parquet`` (and ``trial_panel.csv``)."""
    cfg = ReplicaConfig.load(config_path)
    panel = generate(cfg)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "trial_panel.parquet"
    panel.to_parquet(path, index=False)
    if csv:
        panel.to_csv(out / "trial_panel.csv", index=False)
    (out / "trial_panel.sha256").write_text(content_hash(panel) + "\n")
    return path
