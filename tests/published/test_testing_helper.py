"""famtrial.testing.assert_matches_published, as a user meets it inside pytest."""

from __future__ import annotations

import subprocess
import sys

import pytest

from famtrial.published.verify import load_spec
from famtrial.testing import assert_matches_published


def test_passes_silently_and_fails_with_each_key():
    values = load_spec().values()
    assert assert_matches_published(values) is None
    values["table5.model2.coordinator_holf.ci_low"] = 0.9
    del values["table5.model2.pseudo_r2"]
    with pytest.raises(AssertionError) as info:
        assert_matches_published(values, tables=["table5"])
    msg = str(info.value)
    assert msg.startswith("2 of 38 published numbers do not match")
    line = next(s for s in msg.splitlines() if "coordinator_holf.ci_low" in s)
    assert line.split() == [
        "table5.model2.coordinator_holf.ci_low",
        "published",
        ".79",
        "reproduced",
        "0.9",
        "difference",
        "+0.11",
        "tolerance",
        "0.005",
    ]
    assert "table5.model2.pseudo_r2" in msg and "missing from the results" in msg
    assert_matches_published(
        values, tables=["table5"], tolerances={"table5.model2.coordinator_holf": 0.2}, allow_missing=True
    )


@pytest.mark.subprocess
def test_message_in_a_users_pytest_run(tmp_path):
    (tmp_path / "test_user.py").write_text(
        "from famtrial.testing import assert_matches_published\n\n"
        "def test_published():\n"
        "    assert_matches_published({'sample.parents_included': 2500, 'sample.parents_treated': 964},\n"
        "                             tables=['sample.parents_included', 'sample.parents_treated'])\n"
    )
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_user.py"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert run.returncode == 1
    assert "1 of 2 published numbers do not match" in run.stdout
    assert "sample.parents_included  published     2537  reproduced 2500  difference -37  tolerance 0.5" in run.stdout
    assert "sample.parents_treated  published" not in run.stdout
    # the traceback points at the user's call, not inside famtrial
    assert "test_user.py:4" in run.stdout and "famtrial/testing.py" not in run.stdout
