"""famtrial.options (the global progress switch and delay), the famtrial logger's notices."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import time

import pytest

import famtrial
from famtrial._progress import Progress, logger, options


class Tty(io.StringIO):
    def isatty(self):
        return True


def _run(total, pause, **kw):
    out = Tty()
    with Progress(total, "work", stream=out, min_interval=0, **kw) as bar:
        for _ in range(total):
            time.sleep(pause)
            bar.update()
    return out.getvalue()


def test_a_short_loop_prints_nothing_a_long_one_shows_its_bar():
    assert _run(5, 0.0) == ""  # 0 s of work: under the 1 s default delay
    shown = _run(3, 0.02, delay=0.03)  # the bar appears once the work has run 0.03 s
    assert "work: [" in shown and "3/3 (100%)" in shown and shown.endswith("\n")
    assert "0/3" not in shown  # not drawn at the start: the delay had not passed
    log = io.StringIO()  # a log file: quarter lines only once due, then the final line
    with Progress(4, "draws", stream=log, delay=0) as bar:
        for _ in range(4):
            bar.update()
    assert log.getvalue().splitlines()[-1].startswith("draws: [") and "4/4" in log.getvalue()


def test_global_switch_silences_every_bar(monkeypatch):
    assert famtrial.options is options and "progress=True" in repr(options)
    monkeypatch.setattr(options, "progress", False)
    assert _run(3, 0.0, delay=0) == ""  # enabled=True is overruled by the switch
    monkeypatch.setattr(options, "progress", True)
    assert "3/3" in _run(3, 0.0, delay=0)


def test_options_reject_bad_values():
    with pytest.raises(famtrial.OptionError, match=r"famtrial.options.progress='no' must be True or False"):
        options.progress = "no"  # type: ignore[assignment]
    with pytest.raises(famtrial.OptionError, match="progress_delay=-1 must be a number of seconds >= 0"):
        options.progress_delay = -1
    assert options.progress is True and options.progress_delay == 1.0


@pytest.mark.subprocess
def test_environment_variable_switches_progress_off():
    code = "import famtrial; print(famtrial.options.progress)"
    for value, expected in (("0", "False"), ("off", "False"), ("1", "True")):
        env = dict(os.environ, FAMTRIAL_PROGRESS=value)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
        assert out.stdout.strip() == expected
    env = dict(os.environ, FAMTRIAL_PROGRESS="maybe")
    bad = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert bad.returncode == 1 and "FAMTRIAL_PROGRESS='maybe' is not one of" in bad.stderr


def test_notices_go_to_stderr_unless_logging_is_configured(capsys, caplog):
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers = []  # logging not configured (pytest's own handlers removed for this check)
    try:
        logger.info("a notice")
    finally:
        root.handlers = saved
    assert capsys.readouterr().err == "famtrial: a notice\n"
    with caplog.at_level(logging.INFO, logger="famtrial"):  # configured: the record propagates, no print
        logger.info("another notice")
    assert "another notice" in caplog.text and capsys.readouterr().err == ""
