"""Threads chosen by problem size and capped in workers; one compiled specialisation per kernel
whatever the input dtypes/layouts; a one-line notice only when the kernels actually compile."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from famtrial import _threads as threads
from famtrial.models import _clogit_kernel as kernel
from famtrial.models.clogit import ConditionalLogit

REF = Path(__file__).parents[1] / "reference"


@pytest.fixture(scope="module")
def month_panel() -> pd.DataFrame:
    return pd.read_csv(REF / "clogit_month" / "data.csv")


def test_results_do_not_depend_on_the_number_of_threads(monkeypatch, month_panel):
    """Forced onto 1, 2 and 3 threads (each taking chunks as it frees up), dense and time-effects
    fits give the same numbers (Hessian chunks summed in another order: 1e-12)."""
    monkeypatch.setattr(threads, "WORK_PER_THREAD", 1.0)
    d = month_panel
    fits = []
    for n in (1, 2, 3):
        with threads.limit_threads(n):
            assert threads.threads_for(1e9) == n
            dense = ConditionalLogit(d["y"], d[["treat", "x2", "x3", "trend"]], d["id"]).fit("cluster", d["office"])
            timed = ConditionalLogit(d["y"], d[["treat", "x2", "x3"]], d["id"], time=d["month"]).fit(
                "cluster", d["office"]
            )
        fits.append((dense, timed))
    for dense, timed in fits[1:]:
        for new, old in ((dense, fits[0][0]), (timed, fits[0][1])):
            np.testing.assert_allclose(new.params, old.params, rtol=1e-12, atol=1e-14)
            np.testing.assert_allclose(new.bse, old.bse, rtol=1e-12)


def test_thread_count_rules(monkeypatch):
    monkeypatch.delenv("FAMTRIAL_NUM_THREADS", raising=False)
    monkeypatch.delenv("NUMBA_NUM_THREADS", raising=False)
    threads.set_max_threads(None)
    assert threads.threads_for(threads.WORK_PER_THREAD / 2) == 1  # a small problem: one thread
    with threads.limit_threads(1):
        assert threads.max_threads() == 1 and threads.threads_for(1e12) == 1
        with threads.limit_threads(3):
            assert threads.threads_for(1e12) == 3
        assert threads.max_threads() == 1  # restored
    monkeypatch.setenv("FAMTRIAL_NUM_THREADS", "1")
    assert threads.threads_for(1e12) == 1
    monkeypatch.setenv("FAMTRIAL_NUM_THREADS", "two")
    with pytest.raises(ValueError, match="FAMTRIAL_NUM_THREADS='two' must be a positive integer"):
        threads.max_threads()
    with pytest.raises(ValueError, match="positive int or None; got 0"):
        threads.set_max_threads(0)


@pytest.mark.processes
def test_one_thread_inside_a_process_pool_worker(monkeypatch):
    monkeypatch.delenv("FAMTRIAL_NUM_THREADS", raising=False)
    monkeypatch.setenv("NUMBA_NUM_THREADS", "2")  # the parent allows 2; a worker still uses 1
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        assert pool.submit(threads.max_threads).result() == 1
    assert threads.max_threads() == 2


def _kernel_signatures() -> dict[str, int]:
    return {name: len(f.signatures) for name in dir(kernel) if hasattr(f := getattr(kernel, name), "signatures")}


def test_other_dtypes_and_layouts_reuse_the_compiled_kernels(month_panel):
    """int32/float32/bool/non-contiguous inputs are normalised before the kernels: no new
    specialisation (each dispatcher keeps one signature) and the same estimates."""
    d = month_panel
    covs = ["treat", "x2", "x3"]
    y = d["y"].to_numpy()
    x = d[covs].to_numpy()
    g = pd.factorize(d["id"])[0]
    off = np.linspace(-0.1, 0.1, len(d))
    base = [ConditionalLogit(y, x, g, offset=off).fit(), ConditionalLogit(y, x, g, offset=off, time=d["month"]).fit()]
    before = _kernel_signatures()
    # at most one signature each (a kernel called only from another, _batch, has none when its
    # caller came from the disk cache)
    assert max(before.values()) == 1 and before["_derivatives_chunk"] == before["time_chunk"] == 1
    wide = np.asfortranarray(np.repeat(x, 2, axis=1))[:, ::2]  # non-contiguous, Fortran-ordered view
    assert not wide.flags.c_contiguous and not wide.flags.f_contiguous
    variants = [
        (y.astype(np.int32), x.astype(np.float32), g.astype(np.int32), off.astype(np.float32)),
        (y.astype(bool), wide, g, np.repeat(off, 2)[::2]),  # a strided offset
        (y.astype(np.float32), np.asfortranarray(x), g.astype(np.int16), off),
    ]
    for yy, xx, gg, oo in variants:
        dense = ConditionalLogit(yy, xx, gg, offset=oo).fit()
        timed = ConditionalLogit(
            yy, xx, gg, offset=oo, time=pd.factorize(d["month"], sort=True)[0].astype(np.int32)
        ).fit()
        assert _kernel_signatures() == before
        if xx.dtype == np.float64 and oo.dtype == np.float64:
            np.testing.assert_allclose(dense.params, base[0].params, rtol=1e-12)
            np.testing.assert_allclose(timed.params.to_numpy(), base[1].params.to_numpy(), rtol=1e-12)


@pytest.mark.subprocess
def test_compile_notice_only_when_compiling(tmp_path):
    """A fresh numba cache: one line on stderr; the same cache again (loaded, not compiled): none."""
    code = (
        "import numpy as np; from famtrial.models import _clogit_kernel as k;"
        "print(k.null_point(np.array([[0.5, 1.0, 2.0]]), np.array([0, 1, 0]), np.array([0]), np.array([3]))[2])"
    )
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    again = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert float(first.stdout) == float(again.stdout) == pytest.approx(-np.log(3.0), rel=1e-14)  # -log C(3, 1)
    notices = [line for line in first.stderr.splitlines() if line.startswith("famtrial: compiling")]
    assert len(notices) == 1
    assert "famtrial" not in again.stderr


@pytest.mark.processes
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_with_threads_does_not_hang(month_panel, monkeypatch):
    """The parent's pool threads do not survive fork; a forked child told to use 2 threads starts
    its own pool (instead of queueing chunks for threads that do not exist)."""
    monkeypatch.setattr(threads, "WORK_PER_THREAD", 1.0)
    d = month_panel
    model = ConditionalLogit(d["y"], d[["treat", "x2", "x3"]], d["id"], time=d["month"])
    with threads.limit_threads(2):
        expected = model.loglike(np.full(len(model.exog_names), 0.01))  # the parent's pool now exists

        ctx = multiprocessing.get_context("fork")
        queue = ctx.Queue()

        def child():
            with threads.limit_threads(2):
                queue.put(model.loglike(np.full(len(model.exog_names), 0.01)))

        proc = ctx.Process(target=child)  # forked: the local function needs no pickling
        proc.start()
        try:
            assert queue.get(timeout=120) == pytest.approx(expected, rel=1e-13)
        finally:
            proc.join(10)
            if proc.is_alive():
                proc.kill()


def test_read_only_and_writable_inputs_share_the_compiled_kernels(month_panel):
    """A formula fit on a panel already sorted by person hands the kernels the model matrix's read-only block
    (no reordering copy); an array fit hands them a writable copy. Both reach the kernels as one array type
    (numba types arrays by writability too): no kernel gains a second specialisation, and the numbers agree."""
    import famtrial

    d = month_panel.sort_values(["id", "month"], kind="stable").reset_index(drop=True)
    formula = famtrial.clogit("y ~ treat + x2 | id", d)
    arrays = ConditionalLogit(d["y"], d[["treat", "x2"]].to_numpy().copy(), d["id"], names=["treat", "x2"]).fit()
    assert max(_kernel_signatures().values()) == 1
    np.testing.assert_allclose(arrays.params.to_numpy(), formula.params.to_numpy(), rtol=1e-12)
