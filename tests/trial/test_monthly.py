"""Monthly effects: per-month logits, a known effect path (own panels and the synthetic replica),
office fixed effects, contract keys, validation, progress output."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from conftest import path_panel
from famtrial._progress import Progress, track
from famtrial.data.load import load_panel
from famtrial.inference.multiplicity import sup_t_critical
from famtrial.models.logit import logit
from famtrial.report.plots import plot_monthly
from famtrial.trial.monthly import monthly_effects

BASE = ["reduced_work_capacity", "activation", "employed"]


def _by_hand(panel, month, outcome, regs, **kw):
    base = panel.baseline_frame()[["parent_id", *BASE]].rename(columns={v: f"{v}_baseline" for v in BASE})
    cross = panel.data.loc[panel.data["month"] == pd.Period(month, "M")].merge(base, on="parent_id")
    return logit(cross, outcome, regs, cluster="office", **kw)


@pytest.fixture(scope="module")
def path_effects():
    path = [0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0]
    panel = load_panel(path_panel(7, path))
    return panel, path, monthly_effects(panel, "activation", progress=False)


def test_each_month_is_the_logit_on_baseline_controls(path_effects):
    panel, _, eff = path_effects
    f = eff.frame.set_index("month")
    assert list(f.index) == [str(m) for m in pd.period_range("2016-10", periods=8, freq="M")]
    regs = ["arm", "reduced_work_capacity_baseline", "activation_baseline", "employed_baseline"]
    direct = _by_hand(panel, "2017-01", "activation", regs)
    assert f.loc["2017-01", "or"] == pytest.approx(np.exp(direct.params["arm"]), rel=1e-10)
    assert f.loc["2017-01", "se"] == pytest.approx(np.exp(direct.params["arm"]) * direct.bse["arm"], rel=1e-10)
    assert f.loc["2017-01", "p"] == pytest.approx(direct.pvalues["arm"], rel=1e-10)
    assert f.loc["2017-01", "n"] == direct.nobs and f.loc["2017-01", "n_offices"] == 12
    # the baseline month: the outcome's own baseline value is the outcome, so it is left out
    first = _by_hand(panel, "2016-10", "activation", ["arm", "reduced_work_capacity_baseline", "employed_baseline"])
    assert f.loc["2016-10", "or"] == pytest.approx(np.exp(first.params["arm"]), rel=1e-10)
    assert "left out" in f.loc["2016-10", "note"] and "2016-10: baseline month" in eff.summary()
    assert eff.controls == ("reduced_work_capacity", "activation", "employed")  # activation not twice


def test_the_series_tracks_a_known_effect_path(path_effects):
    _, path, eff = path_effects
    f = eff.frame
    on = np.asarray(path) > 0
    assert f.loc[on, "or"].min() > 1.8 and f.loc[on, "p"].max() < 1e-3
    assert f.loc[~on, "ci_low"].max() < 1.6 and (f.loc[~on, "p"] < 0.05).sum() <= 1
    assert np.corrcoef(np.log(f["or"]), path)[0, 1] > 0.8
    # the path months survive Holm and the simultaneous band
    assert (f.loc[on, "p_holm"] < 0.05).all() and (f.loc[on, "band_low"] > 1).all()
    assert eff.band_draws == 2**11  # 12 offices: every sign vector enumerated


def test_the_series_tracks_a_known_path_on_the_synthetic_replica():
    from famtrial.simulation.replica import ReplicaConfig, generate
    from famtrial.trial.sample import analysis_sample

    path = {"2017-06": 1.2, "2017-07": 1.2, "2017-08": 1.2}
    # no effect outside the path: office effect heterogeneity and office trends off too
    cfg = ReplicaConfig.load().with_outcome(
        "activation",
        path=path,
        tau_local=0.0,
        tau_holf=0.0,
        office_effect_sd_local=0.0,
        office_effect_sd_holf=0.0,
        office_sd_trend=0.0,
    )
    panel = analysis_sample(load_panel(generate(cfg, seed=11))).panel
    eff = monthly_effects(panel, "activation", progress=False)
    f = eff.frame.set_index("month")
    assert len(f) == 27 and eff.n_offices == 14 and eff.n_parents == 2537
    on = f.index.isin(list(path))
    assert f.loc[on, "or"].min() > 1.5 and f.loc[on, "p"].max() < 0.01
    later = f.loc[~on & (f.index > "2016-10")]
    assert np.log(f.loc[on, "or"]).mean() - np.log(later["or"]).mean() > 0.5
    assert (later["p"] < 0.05).sum() <= 4  # chance alone: 1.2 of 24 expected


def test_office_fixed_effects_remove_confounding_by_unequal_offer_shares():
    """No effect; offices with a higher offered share have higher outcome rates (the trial's shares
    run from 8% to 67%). Pooled across offices the offer looks effective; within offices it is not."""
    share = np.linspace(0.08, 0.67, 12)
    panel = load_panel(path_panel(5, [0.0] * 3, n_families=6000, share=share, office_sd=0.6))
    kw = dict(controls=("reduced_work_capacity",), own_baseline=False, band=False, progress=False)
    pooled = monthly_effects(panel, "activation", **kw).frame
    within = monthly_effects(panel, "activation", fixed_effects="office", **kw).frame
    assert (pooled["or"] > 1.3).all() and (pooled["p"] < 0.01).all()
    assert (within["ci_low"] < 1).all() and (within["ci_high"] > 1).all()
    assert np.abs(np.log(within["or"])).max() < 0.12


def test_fixed_effects_record_offices_dropped_for_perfect_prediction():
    frame = path_panel(3, [0.0, 0.0, 0.0], n_families=1200)
    frame.loc[(frame["office"] == 4) & (frame["month"] == "2016-12"), "activation"] = 0
    eff = monthly_effects(load_panel(frame), "activation", fixed_effects="office", progress=False)
    row = eff.frame.set_index("month").loc["2016-12"]
    assert "office_4 != 0 predicts failure perfectly" in row["note"] and row["n_offices"] == 11
    assert row["n"] == 1200 - 100
    assert "2016-12: 100 rows (office_4) dropped: office_4 != 0 predicts failure" in eff.summary()
    assert eff.fixed_effects == "office" and "office fixed effects" in eff.summary()


def test_numbers_table_and_summary(path_effects):
    _, _, eff = path_effects
    numbers = eff.to_numbers()
    f = eff.frame
    assert numbers["monthly.activation.significant_months"] == ",".join(f.loc[f["p"] < 0.05, "month"])
    assert "2017-01" in numbers["monthly.activation.significant_months"].split(",")
    assert numbers["monthly.activation.2017-02.or"] == pytest.approx(f.loc[4, "or"])
    assert set(numbers) == {"monthly.activation.significant_months"} | {
        f"monthly.activation.{m}.{k}" for m in f["month"] for k in ("or", "ci_low", "ci_high")
    }
    text = eff.summary()
    assert "0.40 would be significant by chance" in text and "Holm" in text and "sup-t band" in text
    table = eff.table
    assert list(table.display.columns) == [
        "OR",
        "95% CI",
        "p",
        "p (Holm)",
        "p (BH)",
        "simultaneous 95% band",
        "RD (pp)",
        "95% CI (pp)",
        "n",
        "offices",
    ]
    assert table.display.loc["2017-01", "OR"] == f"{f.loc[3, 'or']:.2f}"


def test_employment_key_and_configurable_controls():
    panel = load_panel(path_panel(4, [0.0, 0.0, 0.0]))
    eff = monthly_effects(
        panel,
        "employed",
        controls=("reduced_work_capacity",),
        band=False,
        progress=False,
        months=["2016-11", "2016-12"],
    )
    assert eff.controls == ("reduced_work_capacity", "employed")
    assert set(eff.results[0].params.index) == {
        "Intercept",
        "arm",
        "reduced_work_capacity_baseline",
        "employed_baseline",
    }
    assert "monthly.employment.significant_months" in eff.to_numbers()
    later = monthly_effects(panel, "employed", baseline="2016-11", band=False, progress=False, months=["2016-12"])
    assert later.baseline == "2016-11" and later.frame.loc[0, "note"] == ""


def test_options_are_validated():
    panel = load_panel(path_panel(3, [0.0, 0.5, 0.5, 0.5]))
    with pytest.raises(ValueError, match="fixed_effects='parent' is not one of"):
        monthly_effects(panel, "activation", fixed_effects="parent")
    with pytest.raises(ValueError, match="'income' is not an outcome of the plan; its outcomes are 'activation'"):
        monthly_effects(panel, "income")
    with pytest.raises(ValueError, match="'income' is neither a key nor a column of the plan's outcomes or covariates"):
        monthly_effects(panel, "activation", controls=("income",))
    with pytest.raises(ValueError, match=r"months \['2020-01'\] are not in the panel"):
        monthly_effects(panel, "activation", months=["2020-01"])
    with pytest.raises(ValueError, match="band resamples clusters"):
        monthly_effects(panel, "activation", cluster=None)
    with pytest.raises(ValueError, match="baseline month 2015-01 is not in the panel"):
        monthly_effects(panel, "activation", baseline="2015-01")
    with pytest.raises(ValueError, match="adjustment='hc1' is not one of"):
        monthly_effects(panel, "activation", adjustment="hc1", progress=False)


def test_progress_reports_to_a_stream_and_can_be_silenced():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    tty = Tty()
    with Progress(4, "fits", stream=tty, min_interval=0, delay=0) as bar:
        for _ in range(4):
            bar.update()
    out = tty.getvalue()
    assert "\r" in out and "fits: [" in out and "4/4 (100%)" in out and out.endswith("\n")
    log = io.StringIO()  # not a terminal: a line per quarter and a final line, no carriage returns
    with Progress(8, "draws", stream=log, delay=0) as bar:
        for _ in range(8):
            bar.update()
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue() and len(lines) == 4 and lines[-1].startswith("draws: [") and "8/8" in lines[-1]
    quiet = io.StringIO()
    with Progress(3, "silent", stream=quiet, enabled=False) as bar:
        bar.update(3)
    assert quiet.getvalue() == ""
    assert list(track(range(3), "items", enabled=False)) == [0, 1, 2]


def test_monthly_effects_shows_progress_on_stderr_unless_silenced(capsys, monkeypatch):
    from famtrial._progress import options

    monkeypatch.setattr(options, "progress_delay", 0.0)  # this small panel's loop ends well within the 1 s delay
    panel = load_panel(path_panel(3, [0.0, 0.0]))
    monthly_effects(panel, "activation", band=False)
    assert "monthly logits (activation): [" in capsys.readouterr().err
    monthly_effects(panel, "activation", band=False, progress=False)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    "options", [{}, {"t_reference": True, "adjustment": "statsmodels"}, {"cluster": None, "band": False}]
)
def test_months_fitted_together_equal_the_logit_of_each_month(options):
    """The regular months are fitted together (one batched Newton); every number equals the logit
    fitted on that month alone (to 1e-10), irregular months included: one with a constant outcome,
    one where a 0/1 control predicts the outcome perfectly (dropped with its rows, as Stata)."""
    frame = path_panel(11, [0.0, 0.3, 0.6, 0.6, 0.0, 0.0])
    frame.loc[frame["month"] == "2017-01", "activation"] = 0
    rwc = frame.groupby("parent_id")["reduced_work_capacity"].transform("first") == 1
    frame.loc[(frame["month"] == "2017-02") & rwc, "activation"] = 1
    panel = load_panel(frame)
    eff = monthly_effects(panel, "activation", progress=False, **options)
    f = eff.frame.set_index("month")
    regs = ["arm", "reduced_work_capacity_baseline", "activation_baseline", "employed_baseline"]
    kw = {k: v for k, v in options.items() if k in ("t_reference", "adjustment")}
    assert np.isnan(f.loc["2017-01", "coef"]) and "no estimate: the outcome is 0" in f.loc["2017-01", "note"]
    assert "reduced_work_capacity_baseline != 0 predicts success perfectly" in f.loc["2017-02", "note"]
    fits, influence, ses, factors = iter(eff.results), [], [], []
    for month in f.index:
        if month == "2017-01":
            continue
        own = regs if month != "2016-10" else [r for r in regs if r != "activation_baseline"]
        base = panel.baseline_frame()[["parent_id", *BASE]].rename(columns={v: f"{v}_baseline" for v in BASE})
        cross = panel.data.loc[panel.data["month"] == pd.Period(month, "M")].merge(base, on="parent_id")
        alone = logit(cross, "activation", own, cluster=options.get("cluster", "office"), **kw)
        row, fit = f.loc[month], next(fits)
        np.testing.assert_allclose(fit.params, alone.params, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(fit.bse, alone.bse, rtol=1e-10)
        ci = alone.conf_int().loc["arm"]
        expected = [
            alone.params["arm"],
            alone.bse["arm"],
            alone.pvalues["arm"],
            np.exp(ci["lower"]),
            np.exp(ci["upper"]),
        ]
        np.testing.assert_allclose(
            row[["coef", "se_coef", "p", "ci_low", "ci_high"]].to_numpy(float), expected, rtol=1e-10
        )
        assert row["n"] == alone.nobs and fit.dropped == alone.dropped and fit.iterations == alone.iterations
        if eff.band_critical is not None:
            b = alone.params.to_numpy()
            infl = alone.model.score_obs(b) @ alone.model.bread(b)[:, 1]
            used = cross.iloc[alone.model.used_rows]
            influence.append(pd.Series(infl).groupby(used["office"].to_numpy()).sum())
            ses.append(alone.bse["arm"])
            factors.append(alone.covariance.factor)
    if eff.band_critical is not None:  # the band from the months fitted alone
        crit, _ = sup_t_critical(
            pd.concat(influence, axis=1).fillna(0.0).to_numpy(), np.array(ses), factor=np.array(factors)
        )
        assert eff.band_critical == pytest.approx(crit, rel=1e-10)
    assert list(eff.frame.columns[:12]) == [
        "month",
        "coef",
        "se_coef",
        "or",
        "se",
        "ci_low",
        "ci_high",
        "z",
        "p",
        "n",
        "n_offices",
        "note",
    ]


def test_risk_differences_beside_the_odds_ratios(path_effects):
    """Each month's risk difference is the mean of p(arm = 1) - p(arm = 0) over the month's parents (by hand),
    with the delta-method SE of the month's margins (margins itself is checked against R in test_margins.py)."""
    from scipy.special import expit

    panel, _, eff = path_effects
    f = eff.frame.set_index("month")
    regs = ["arm", "reduced_work_capacity_baseline", "activation_baseline", "employed_baseline"]
    direct = _by_hand(panel, "2017-01", "activation", regs)
    x = np.column_stack([np.ones(direct.nobs), direct.model._x[:, 1:]])
    b = direct.params.to_numpy()
    x1, x0 = x.copy(), x.copy()
    x1[:, 1], x0[:, 1] = 1.0, 0.0
    assert f.loc["2017-01", "rd"] == pytest.approx(float(np.mean(expit(x1 @ b) - expit(x0 @ b))), rel=1e-10)
    m = direct.margins("arm", discrete=True).loc["arm"]
    assert f.loc["2017-01", "rd_se"] == pytest.approx(m["se"], rel=1e-10)
    assert f.loc["2017-01", "rd_ci_low"] < f.loc["2017-01", "rd"] < f.loc["2017-01", "rd_ci_high"]
    assert "RD (pp)" in eff.table.display.columns
    fig = plot_monthly(eff, scale="rd")
    assert fig.axes[0].get_yscale() == "linear" and "Risk difference" in fig.axes[0].get_ylabel()
    with pytest.raises(ValueError, match="scale='pp' is not one of"):
        plot_monthly(eff, scale="pp")


@pytest.mark.parametrize("t_reference", [False, True])
def test_risk_differences_equal_each_months_margins(path_effects, t_reference):
    """The series' risk differences (computed on arrays for all months) are each month's
    ``margins(arm, discrete=True)`` (Stata margins, dydx(i.arm); checked against R in test_margins)."""
    panel = path_effects[0]
    eff = monthly_effects(panel, "activation", band=False, t_reference=t_reference, progress=False)
    ok = eff.frame["coef"].notna().to_numpy()
    got = eff.frame.loc[ok, ["rd", "rd_se", "rd_ci_low", "rd_ci_high", "rd_p"]].to_numpy()
    want = np.array(
        [
            fit.margins("arm", discrete=True).loc["arm", ["ame", "se", "ci_low", "ci_high", "p"]].to_numpy(dtype=float)
            for fit in eff.results
        ]
    )
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
