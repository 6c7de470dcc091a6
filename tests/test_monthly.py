"""Monthly effects, multiplicity (Holm, BH, sup-t band) and Figures 2/3."""

from __future__ import annotations

import itertools

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from statsmodels.stats.multitest import multipletests  # noqa: E402

from famtrial.inference.multiplicity import benjamini_hochberg, holm, sup_t_critical  # noqa: E402
from famtrial.models.logit import logit  # noqa: E402
from famtrial.monthly import monthly_effects  # noqa: E402
from famtrial.panel import load_panel  # noqa: E402
from famtrial.plots import plot_monthly  # noqa: E402


def _cross_panel(seed, path, n_families=1200, offices=12, months=8):
    """Parents x months with an effect path on activation for the offered arm (log-odds per month)."""
    rng = np.random.default_rng(seed)
    fam = np.arange(n_families)
    office = fam % offices + 1
    arm = (rng.random(n_families) < 0.4).astype(int)
    period = pd.period_range("2016-10", periods=months, freq="M")
    alpha = rng.normal(-1.5, 1.0, n_families)
    rwc = (rng.random(n_families) < 0.3).astype(int)
    eta = alpha[:, None] + 0.5 * rwc[:, None] + arm[:, None] * np.asarray(path)[None, :]
    y = (rng.random((n_families, months)) < 1 / (1 + np.exp(-eta))).astype(int)
    emp = (rng.random((n_families, months)) < 0.3).astype(int)
    return pd.DataFrame({
        "parent_id": np.repeat(fam, months), "family_id": np.repeat(fam, months), "office": np.repeat(office, months),
        "month": np.tile(period.astype(str), n_families), "arm": np.repeat(arm, months),
        "model": np.repeat(np.where(arm == 1, "local", "ordinary"), months), "activation": y.ravel(),
        "employed": emp.ravel(), "married": 0, "n_children": 1, "reduced_work_capacity": np.repeat(rwc, months),
        "female": 1, "year_of_birth": 1980, "immigrant": 0})


def test_holm_and_bh_match_statsmodels():
    p = np.random.default_rng(1).uniform(0, 0.2, 27)
    np.testing.assert_allclose(holm(p), multipletests(p, method="holm")[1], rtol=1e-12)
    np.testing.assert_allclose(benjamini_hochberg(p), multipletests(p, method="fdr_bh")[1], rtol=1e-12)


def test_sup_t_critical_enumerates_every_sign_vector_for_small_g():
    rng = np.random.default_rng(4)
    influence, se = rng.normal(size=(4, 3)), np.array([1.0, 2.0, 0.5])
    crit, draws = sup_t_critical(influence, se, alpha=0.25)
    stats_ = [np.abs(np.sqrt(4 / 3) * (np.array(w) @ influence) / se).max()
              for w in itertools.product((1, -1), repeat=4)]
    assert draws == 8  # 2^(G-1): sign flips of the whole vector give the same max |t|
    assert crit == pytest.approx(np.quantile(stats_, 0.75))


def test_monthly_estimates_are_the_per_month_logits_and_track_the_path():
    path = [0.0, 0.0, 0.0, 0.9, 0.9, 0.0, 0.0, 0.0]
    panel = load_panel(_cross_panel(7, path))
    eff = monthly_effects(panel, "activation", progress=False)
    f = eff.frame
    assert list(f["month"]) == [str(m) for m in pd.period_range("2016-10", periods=8, freq="M")]
    # month 2017-01 by hand: logit on arm and baseline (2016-10) values, clustered by office
    base = panel.baseline_frame()[["parent_id", "reduced_work_capacity", "activation", "employed"]]
    cross = panel.data.loc[panel.data["month"] == pd.Period("2017-01", "M"), ["parent_id", "office", "arm", "activation"]]
    cross = cross.merge(base.add_suffix("_b").rename(columns={"parent_id_b": "parent_id"}), on="parent_id")
    direct = logit(cross, "activation", ["arm", "reduced_work_capacity_b", "activation_b", "employed_b"], cluster="office")
    row = f.set_index("month").loc["2017-01"]
    assert row["or"] == pytest.approx(np.exp(direct.params["arm"]), rel=1e-10)
    assert row["se"] == pytest.approx(np.exp(direct.params["arm"]) * direct.bse["arm"], rel=1e-10)
    assert "left out" in f.loc[0, "note"]  # the baseline month drops the outcome's own baseline
    assert f.loc[[3, 4], "or"].min() > 1.6 and f.loc[[3, 4], "p"].max() < 0.01
    assert (f["band_high"] - f["band_low"] > f["ci_high"] - f["ci_low"]).all()
    numbers = eff.to_numbers()
    assert "2017-01" in numbers["monthly.activation.significant_months"]
    assert numbers["monthly.activation.2017-02.or"] == pytest.approx(f.loc[4, "or"])


def test_under_no_effect_the_band_covers_one_in_most_replications():
    covered = 0
    reps = 20
    for rep in range(reps):
        eff = monthly_effects(load_panel(_cross_panel(100 + rep, [0.0] * 6, n_families=600, months=6)), "activation",
                              progress=False)
        covered += bool(((eff.frame["band_low"] <= 1) & (eff.frame["band_high"] >= 1)).all())
    assert covered >= 15  # nominal 95% simultaneous coverage; 12 clusters make it approximate


def test_office_fixed_effects_option_and_validation():
    panel = load_panel(_cross_panel(3, [0.0, 0.5, 0.5, 0.5], months=4))
    fe = monthly_effects(panel, "activation", fixed_effects="office", band=False, progress=False)
    assert fe.fixed_effects == "office" and "office fixed effects" in fe.summary()
    assert any(n.startswith("office_") for n in fe.results[1].params.index)
    with pytest.raises(ValueError, match="fixed_effects='parent' is not one of"):
        monthly_effects(panel, "activation", fixed_effects="parent")
    with pytest.raises(ValueError, match="outcome 'income' is not one of"):
        monthly_effects(panel, "income")


def test_figure_renders_with_expected_content(tmp_path):
    eff = monthly_effects(load_panel(_cross_panel(7, [0, 0, 0, 0.9, 0.9, 0, 0, 0])), "activation", progress=False)
    fig = plot_monthly(eff, number=2)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and ax.get_title(loc="left").startswith("Figure 2.")
    assert "2016-10" in [t.get_text() for t in ax.get_xticklabels()]
    assert any("k = 12 offices, n = 1,200 parents" in t.get_text() for t in ax.texts)
    assert len(ax.collections[0].get_paths()) > 0  # the CI band
    path = tmp_path / "figure2.png"
    fig.savefig(path, dpi=80)
    img = matplotlib.image.imread(path)
    assert np.std(img[..., :3]) > 0.05 and img.shape[1] > 400
