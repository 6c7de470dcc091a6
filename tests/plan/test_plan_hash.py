"""The plan's canonical hash: one hash for equal plans, a new one for any changed value."""

import hashlib
import tomllib

from famtrial._paths import file_sha256
from famtrial.plan.spec import load_plan


def test_equal_plans_share_a_hash_and_a_changed_value_changes_it():
    plan = load_plan("nct03102775")
    assert len(plan.hash) == 64
    assert load_plan(tomllib.loads(plan.to_toml())).hash == plan.hash
    raw = plan.to_dict()
    raw["inference"]["seed"] = plan.seed + 1
    assert load_plan(raw).hash != plan.hash
    assert load_plan("casework").hash != plan.hash


def test_file_sha256_is_hashlib_of_the_bytes(tmp_path):
    path = tmp_path / "x.bin"
    payload = bytes(range(256)) * 9000  # more than one 1 MiB block
    path.write_bytes(payload)
    assert file_sha256(path) == hashlib.sha256(payload).hexdigest()
