"""Property-based tests of the exact conditional logit (hypothesis).

Random valid panels — unbalanced, rows of a group not necessarily contiguous, numbers of positive
months near 0 and near T, ties in the regressors — and random coefficients: the model's
log-likelihood, score and Hessian equal a brute-force enumeration over all k-subsets of each
group's rows (written here in numpy/itertools, independent of the recursion), on the rows and
regressors the model keeps; the separation screen leaves no single regressor separating the kept
rows, while dropping nothing when none separates the input (checked pair by pair); and the LP of
``separation.direction`` finds a direction of recession exactly when enumerating the extreme rays
of the recession cone does.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp

from famtrial.errors import ModelInputError, SeparationError
from famtrial.models.clogit import ConditionalLogit

# deterministic in CI; raise max_examples locally to explore further
PROPERTY = settings(deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
LL_TOL, DERIV_TOL = 1e-9, 1e-8

values = st.one_of(
    st.integers(-3, 3).map(float),  # ties, and rows that separate
    st.floats(-3, 3, allow_nan=False, allow_subnormal=False),
)


@st.composite
def panels(draw, max_t: int = 8, near_edges: bool = False):
    """(y, x, groups, b): G groups of 1..max_t rows, k ones each (k anywhere, or only near 0 and T)."""
    n_groups = draw(st.integers(1, 6))
    p = draw(st.integers(1, 3))
    ys, xs, gs = [], [], []
    for g in range(n_groups):
        t = draw(st.integers(1, max_t))
        edge = [0, 1, 2, t - 2, t - 1, t]
        k = draw(
            st.sampled_from([v for v in edge if 0 <= v <= t])
            if near_edges or draw(st.booleans())
            else st.integers(0, t)
        )
        ys.append(np.array(draw(st.permutations([1] * k + [0] * (t - k))), dtype=int))
        xs.append(np.array([[draw(values) for _ in range(p)] for _ in range(t)]))
        gs.append(np.full(t, 100 + 7 * g))
    y, x, groups = np.concatenate(ys), np.vstack(xs), np.concatenate(gs)
    order = np.array(draw(st.permutations(range(len(y)))))  # rows in any order
    b = np.array([draw(st.floats(-1.5, 1.5, allow_nan=False, allow_subnormal=False)) for _ in range(p)])
    return y[order], x[order], groups[order], b


def brute_force(y, x, groups, b):
    """Sum over groups with 0 < k < T of the exact conditional log-likelihood, score and Hessian,
    enumerating every k-subset S of the group's rows: P(S) proportional to exp(sum_S x'b)."""
    p = x.shape[1]
    ll, score, hess = 0.0, np.zeros(p), np.zeros((p, p))
    for label in np.unique(groups):
        rows = groups == label
        yg, xg = y[rows], x[rows]
        k, t = int(yg.sum()), len(yg)
        if k == 0 or k == t:
            continue
        subsets = list(itertools.combinations(range(t), k))
        sums = np.array([xg[list(s)].sum(axis=0) for s in subsets])  # (C(t, k), p)
        eta = sums @ b
        log_den = logsumexp(eta)
        prob = np.exp(eta - log_den)
        observed = xg[yg == 1].sum(axis=0)
        mean = prob @ sums
        ll += observed @ b - log_den
        score += observed - mean
        centred = sums - mean
        hess -= (centred * prob[:, None]).T @ centred
    return ll, score, hess


def separating_regressors(y, x, groups) -> list[int]:
    """Regressors j for which x_j or -x_j orders every group's positive rows weakly above its negative
    rows with at least one strict pair (checked pair by pair)."""
    found = []
    for j in range(x.shape[1]):
        for sign in (1.0, -1.0):
            weak, strict = True, False
            for label in np.unique(groups):
                rows = groups == label
                z, yg = sign * x[rows, j], y[rows]
                for a, c in itertools.product(z[yg == 1], z[yg == 0]):
                    weak &= a >= c
                    strict |= a > c
            if weak and strict:
                found.append(j)
                break
    return found


def _check(y, x, groups, b):
    names = [f"x{j + 1}" for j in range(x.shape[1])]
    try:
        model = ConditionalLogit(y, x, groups, names=names)
    except SeparationError as err:  # regressors, dropped in turn, determine every informative group
        event("complete separation raised")
        assert err.variables and err.variables[0] in {names[j] for j in separating_regressors(y, x, groups)}
        return
    except ModelInputError as err:
        event("no informative group")
        assert "no group has variation in the outcome" in str(err)
        sizes = {g: (y[groups == g].sum(), (groups == g).sum()) for g in np.unique(groups)}
        assert all(k in (0, t) for k, t in sizes.values())
        return
    used = model.used_rows
    kept = [names.index(n) for n in model.exog_names]
    separated = [d for d in model.dropped if d.kind == "rows"]
    event("rows dropped by the separation screen" if separated else "no separation")
    if not separated:
        assert separating_regressors(y, x, groups) == []
        assert len(used) == int(
            sum((groups == g).sum() for g in np.unique(groups) if 0 < y[groups == g].sum() < (groups == g).sum())
        )
    # the screen leaves no regressor separating the rows it keeps
    assert separating_regressors(y[used], x[used], groups[used]) == []
    if not kept:
        return
    ll, score, hess = model.derivatives(b[kept])
    ref_ll, ref_score, ref_hess = brute_force(y[used], x[used][:, kept], groups[used], b[kept])
    assert ll == pytest.approx(ref_ll, rel=LL_TOL, abs=LL_TOL)
    np.testing.assert_allclose(score, ref_score, rtol=DERIV_TOL, atol=DERIV_TOL)
    np.testing.assert_allclose(hess, ref_hess, rtol=DERIV_TOL, atol=DERIV_TOL)
    np.testing.assert_allclose(model.score_groups(b[kept]).sum(axis=0), ref_score, rtol=DERIV_TOL, atol=DERIV_TOL)


@settings(PROPERTY, max_examples=300)
@given(panels(max_t=8))
def test_small_panels_match_brute_force_enumeration(panel):
    _check(*panel)


@settings(PROPERTY, max_examples=60)
@given(panels(max_t=60, near_edges=True))
def test_long_groups_with_few_or_many_ones_match_brute_force(panel):
    """T up to 60 with k in {0, 1, 2, T-2, T-1, T}: at most C(60, 2) = 1,770 subsets per group."""
    _check(*panel)


@st.composite
def integer_panels(draw):
    """(y, x, groups) with integer regressors (exact pair differences), 1-3 regressors."""
    n_groups = draw(st.integers(1, 5))
    p = draw(st.integers(1, 3))
    ys, xs, gs = [], [], []
    for g in range(n_groups):
        t = draw(st.integers(2, 6))
        k = draw(st.integers(1, t - 1))
        ys.append(np.array(draw(st.permutations([1] * k + [0] * (t - k))), dtype=int))
        xs.append(np.array([[draw(st.integers(-2, 2)) for _ in range(p)] for _ in range(t)], dtype=float))
        gs.append(np.full(t, g))
    return np.concatenate(ys), np.vstack(xs), np.concatenate(gs)


def recession_direction_exists(y, x, groups) -> bool | None:
    """Brute force: is there d with (x_t - x_s)'d >= 0 for every within-group pair (y_t = 1, y_s = 0),
    one of them > 0? The cone {d: A d >= 0} is pointed when A has full column rank, so if it is not
    {0} it has an extreme ray, which lies on p - 1 independent constraint hyperplanes: for p = 1, 2, 3
    the candidates are +-1, +-perp(a_i), +-(a_i x a_j). None when A is rank deficient (not decided)."""
    pairs = [
        x[t] - x[s]
        for g in np.unique(groups)
        for t in np.flatnonzero((groups == g) & (y == 1))
        for s in np.flatnonzero((groups == g) & (y == 0))
    ]
    a = np.array(pairs)
    p = x.shape[1]
    if np.linalg.matrix_rank(a) < p:
        return None
    if p == 1:
        candidates = [np.array([1.0])]
    elif p == 2:
        candidates = [np.array([-r[1], r[0]]) for r in a]
    else:
        candidates = [np.cross(r, q) for r, q in itertools.combinations(a, 2)]
    for d in candidates:
        for signed in (d, -d):
            margins = a @ signed  # integers: exact
            if (margins >= 0).all() and (margins > 0).any():
                return True
    return False


@settings(PROPERTY, max_examples=300)
@given(integer_panels())
def test_lp_finds_a_direction_of_recession_exactly_when_one_exists(panel):
    """The linear programme of separation.direction against brute-force enumeration of the extreme
    rays of the recession cone, for combinations of up to 3 regressors."""
    from famtrial.models import separation

    y, x, groups = panel
    expected = recession_direction_exists(y, x, groups)
    if expected is None:
        event("rank-deficient pair differences (not decided)")
        return
    event("separated" if expected else "estimate exists")
    starts = np.r_[0, np.flatnonzero(np.diff(groups)) + 1, len(groups)]
    found = separation.direction(np.ascontiguousarray(x.T), y, starts[:-1], starts[1:])
    assert (found is not None) == expected
    if found is not None:  # the direction found satisfies every pair inequality, some strictly
        d, determined = found
        z = x @ d
        for g in np.unique(groups):
            rows = groups == g
            assert z[rows & (y == 1)].min() >= z[rows & (y == 0)].max() - 1e-9
        assert determined.any()
