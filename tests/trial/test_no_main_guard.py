"""A plain script without ``if __name__ == "__main__":`` never hangs, whatever the executor.

Spawned workers used to re-run such a script (as ``__mp_main__``): the analysis started again in every
worker, whose own pool raised multiprocessing's bootstrapping ``RuntimeError``, and the parent waited
forever. The script below is what a Stata or R user writes; it must finish (a timeout is a failure).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import famtrial

SCRIPT = """
import numpy as np
import famtrial
from famtrial.data.load import load_panel
from famtrial.pipeline import default_panel_path
from famtrial.trial.sample import analysis_sample
from famtrial._parallel import run_tasks
import math

panel = analysis_sample(load_panel(default_panel_path())).panel
auto = famtrial.randomization_test(panel, "activation", statistic="wald", n_perm=3, seed=1, n_jobs=2, progress=False)
pool = famtrial.randomization_test(
    panel, "activation", statistic="wald", n_perm=3, seed=1, n_jobs=2, executor="processes", progress=False
)
assert np.array_equal(auto.draws, pool.draws), (auto.draws, pool.draws)
assert run_tasks(math.factorial, range(5), n_jobs=2) == [1, 1, 2, 6, 24]
print("RAN-ONCE")
"""


@pytest.mark.subprocess
@pytest.mark.processes
def test_unguarded_script_with_a_process_pool_finishes(tmp_path: Path) -> None:
    script = tmp_path / "analysis.py"
    script.write_text(SCRIPT)
    src = str(Path(famtrial.__file__).parents[1])
    env = {**os.environ, "PYTHONPATH": src}
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("RAN-ONCE") == 1  # the workers did not re-run the script
    assert "bootstrapping" not in done.stderr


def test_auto_never_starts_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    """``executor="auto"`` runs every re-draw on threads, whatever the load and the work."""
    import numpy as np

    import famtrial.inference.randomization as ri

    calls: list[int] = []
    monkeypatch.setattr(ri, "map_in_processes", lambda *a, **k: calls.append(1))
    monkeypatch.setattr(ri.os if hasattr(ri, "os") else os, "getloadavg", lambda: (0.0, 0.0, 0.0))

    class Slow:
        def __call__(self, arm: np.ndarray) -> float:
            return float(arm.sum())

    design = ri.FamilyDesign(
        family=np.arange(6), office=np.repeat([0, 1], 3), arm=np.array([1, 0, 0, 1, 1, 0], np.int8)
    )
    seeds = np.random.SeedSequence(1).spawn(40)
    draws = ri.run_draws(design, Slow(), seeds, n_jobs=2, progress=False, desc="t")  # type: ignore[arg-type]
    assert not calls
    assert np.array_equal(draws, np.full(40, 3.0))
