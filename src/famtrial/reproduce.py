"""``famtrial reproduce``: the trial's whole analysis on a panel, written to a folder.

Composition only: every number comes from the public API (load_panel, analysis_sample,
balance_table, correlation_table, paper_models, monthly_effects, few-cluster inference).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from famtrial._paths import data_dir  # noqa: E402

__all__ = ["reproduce", "Reproduction", "default_panel_path"]


def default_panel_path() -> Path:
    """The shipped synthetic replica (``data/synthetic/trial_panel.parquet``)."""
    return data_dir() / "synthetic" / "trial_panel.parquet"


@dataclass
class Reproduction:
    """What ``reproduce`` wrote: the output folder, the files, and every reproduced number."""

    out: Path
    files: list[Path] = field(default_factory=list)
    numbers: dict[str, float | str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"famtrial reproduce: wrote {len(self.files)} files to {self.out}/"]
        lines += [f"  {p.name}" for p in self.files]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def _save_figure(fig, stem: Path, formats: Sequence[str], files: list[Path]) -> None:
    for fmt in formats:
        path = stem.with_suffix(f".{fmt}")
        fig.savefig(path, dpi=200, bbox_inches="tight")
        files.append(path)
    plt.close(fig)


def reproduce(data=None, out: str | Path = "results", *, formats: Sequence[str] = ("png",), n_boot: int = 9999,
              seed: int = 20161001, missing: str = "error", inference: bool = True, n_perm: int = 199,
              progress: bool = True) -> Reproduction:
    """Run the trial's analysis on ``data`` (default: the shipped replica) and write every table and figure.

    Writes ``table2.csv`` .. ``table6.csv`` (and Markdown twins), ``figure1.png`` .. ``figure3.png``,
    ``monthly_activation.csv``, ``monthly_employment.csv``, ``inference.csv`` (Models 1 and 3 with
    cluster z, t(G-1), score-bootstrap and randomization p-values, ``n_perm`` re-draws; skipped
    with ``inference=False``) and ``reproduced.csv`` (``key,value`` for ``famtrial verify``). ``n_boot`` and ``seed`` drive the sup-t band's multiplier bootstrap
    (with 16 or fewer offices every sign vector is enumerated and they do not matter).
    """
    from famtrial.balance import balance_table, correlation_table
    from famtrial.flowchart import plot_flow
    from famtrial.monthly import monthly_effects
    from famtrial.panel import load_panel
    from famtrial.plots import plot_monthly
    from famtrial.sample import analysis_sample
    from famtrial.trial import compare_models, fe_numbers, paper_models

    bad = sorted(set(formats) - {"png", "pdf", "svg"})
    if bad:
        raise ValueError(f"unsupported figure format(s) {bad}: use png, pdf or svg")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    result = Reproduction(out=out)
    files, numbers = result.files, result.numbers

    def table(tab, name: str) -> None:
        for suffix in (".csv", ".md"):
            files.append(tab.save(out / f"{name}{suffix}"))

    panel = load_panel(default_panel_path() if data is None else data, missing=missing)
    sample = analysis_sample(panel)
    result.notes.append(sample.summary())
    table(sample.table2, "table2")
    numbers.update(sample.to_numbers())
    _save_figure(plot_flow(sample.flow), out / "figure1", formats, files)

    analysed = sample.panel
    balance = balance_table(analysed)
    table(balance.table, "table3")
    numbers.update(balance.to_numbers())
    corr = correlation_table(analysed)
    table(corr.table, "table4")
    numbers.update(corr.to_numbers())

    models = paper_models(analysed)
    n_parents = analysed.data[analysed.columns.parent].nunique()
    table(compare_models({k: models[k] for k in ("model1", "model2")}, n_parents=n_parents,
                         title="Table 5. Fixed-effects logit: participation in activation programmes"), "table5")
    table(compare_models({k: models[k] for k in ("model3", "model4")}, n_parents=n_parents,
                         title="Table 6. Fixed-effects logit: employment"), "table6")
    numbers.update(fe_numbers(models))

    for figure, outcome, key in (("figure2", "activation", "activation"), ("figure3", "employed", "employment")):
        effects = monthly_effects(analysed, outcome, seed=seed, n_boot=n_boot, progress=progress)
        result.notes.append(effects.summary().splitlines()[1])
        effects.frame.to_csv(out / f"monthly_{key}.csv", index=False)
        files.append(out / f"monthly_{key}.csv")
        numbers.update(effects.to_numbers())
        _save_figure(plot_monthly(effects, number=int(figure[-1])), out / figure, formats, files)

    if inference:
        from famtrial.inference.randomization import few_cluster_inference

        few = few_cluster_inference(analysed, n_perm=n_perm, seed=seed, progress=progress)
        table(few.table, "inference")
        numbers.update(few.to_numbers())

    reproduced = pd.DataFrame({"key": list(numbers), "value": list(numbers.values())})
    reproduced.to_csv(out / "reproduced.csv", index=False)
    files.append(out / "reproduced.csv")
    return result
