"""Real processes (issue 25): a ``famtrial reproduce`` killed by its PID mid-way, two runs into one folder at
once, and ``famtrial verify`` whose stdout reader leaves (``| head``) or is closed.

A run is ``famtrial reproduce`` on conftest's small panel (120 families, 6 offices) in a child
interpreter; the folder is then judged by ``famtrial verify`` in another child.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import make_panel_frame
from famtrial.published.manifest import MANIFEST, check_results

pytestmark = pytest.mark.subprocess

SRC = str(Path(__file__).resolve().parents[2] / "src")


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), "PYTHONWARNINGS": "ignore"}


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "famtrial", *args]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(command(*args), cwd=cwd, env=env(), capture_output=True, text=True, timeout=600)


def start(*args: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        command(*args), cwd=cwd, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("processes")
    make_panel_frame().to_csv(folder / "small.csv", index=False)
    return folder


REPRODUCE = ("reproduce", "--data", "small.csv", "--skip-inference", "--quiet")


@pytest.fixture(scope="module")
def complete(folder) -> Path:
    done = run(*REPRODUCE, "--out", "complete", cwd=folder)
    assert done.returncode == 0, done.stderr
    return folder / "complete"


def wait_for(condition, seconds: float = 300) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def running_into(out: Path, pid: int) -> bool:
    """Whether the run ``pid`` holds the folder's lock (it has started writing)."""
    try:
        return f"pid {pid}," in (out / ".famtrial.lock").read_text()
    except OSError:
        return False


def test_a_killed_rerun_leaves_a_folder_verify_refuses(folder, complete):
    assert run("verify", "--results", "complete", "--allow-missing", cwd=folder).returncode in (0, 1)  # verifiable
    before = json.loads((complete / MANIFEST).read_text())
    child = start(*REPRODUCE[:-2], "--out", "complete", cwd=folder)  # with the monthly series: long enough
    wait_for(lambda: running_into(complete, child.pid))
    time.sleep(1.0)  # mid-way: loading and fitting
    os.kill(child.pid, signal.SIGKILL)
    child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL
    refused = run("verify", "--results", "complete", "--allow-missing", cwd=folder)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert MANIFEST in refused.stderr and "incomplete" in refused.stderr and "did not finish" in refused.stderr
    after = json.loads((complete / MANIFEST).read_text())
    assert after["files"] == before["files"] and not after["complete"]  # the old files untouched, not trusted
    # a killed first run into a fresh folder: nothing to verify either
    child = start(*REPRODUCE[:-2], "--out", "fresh", cwd=folder)
    wait_for(lambda: running_into(folder / "fresh", child.pid))
    time.sleep(1.0)
    os.kill(child.pid, signal.SIGKILL)
    child.communicate(timeout=60)
    fresh = run("verify", "--results", "fresh", cwd=folder)
    assert fresh.returncode == 2 and "reproduced.csv" in fresh.stderr
    # the next run cleans the killed runs' temporary folders and leaves a complete folder
    assert [p for p in folder.iterdir() if p.name.startswith(".complete.famtrial-")]
    again = run(*REPRODUCE, "--out", "complete", cwd=folder)
    assert again.returncode == 0, again.stderr
    assert not [p for p in folder.iterdir() if p.name.startswith(".complete.famtrial-")]
    assert check_results(complete).complete


def test_two_concurrent_runs_never_interleave(folder):
    first = start(*REPRODUCE, "--out", "shared", cwd=folder)
    second = start(*REPRODUCE, "--out", "shared", cwd=folder)
    outputs = [p.communicate(timeout=600) for p in (first, second)]
    codes = sorted(p.returncode for p in (first, second))
    refused = [err for p, (_, err) in zip((first, second), outputs) if p.returncode != 0]
    assert codes == [0, 2], outputs
    assert "another famtrial run (" in refused[0] and "is writing to" in refused[0]  # its pid once it wrote it
    assert "Traceback" not in refused[0]
    manifest = check_results(folder / "shared")  # one run's files, each matching its hash
    assert manifest.complete and "reproduced.csv" in manifest.files


def test_verify_exit_status_is_the_verdict_when_the_reader_leaves(folder, complete):
    for extra, verdict in (([], 1), (["--tables", "sample", "--tolerance", "sample=1e9", "--allow-missing"], 0)):
        child = start("verify", "--results", "complete", *extra, cwd=folder)
        child.stdout.close()  # the reader left before verify printed
        child.wait(timeout=300)
        err = child.stderr.read()
        assert child.returncode == verdict, err
        assert "Traceback" not in err and "BrokenPipe" not in err
    piped = subprocess.run(
        ["bash", "-o", "pipefail", "-c", f"{sys.executable} -m famtrial verify --results complete | head -c 10"],
        cwd=folder,
        env=env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert piped.returncode == 1 and "Traceback" not in piped.stderr  # a CI gate with pipefail fails


def test_a_closed_stdout_prints_no_traceback(folder):
    shown = subprocess.run(
        ["bash", "-c", f"{sys.executable} -m famtrial plan show casework >&-"],
        cwd=folder,
        env=env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert shown.returncode == 0 and shown.stderr == ""
