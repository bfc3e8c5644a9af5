"""Content keys: what shapes the output changes the key, nothing else does."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import write_spec
from wanplan.key.content_key import KEY_VERSION, canonical_json, content_key
from wanplan.workspace import PlanRequest, Workspace

BASE = """[assets.a]
mode = "i2v"
model = "wan-2.5"
image = "inputs/hero.png"
prompt = "Subject turns."
seed = 3
"""


def key_of(root: Path, text: str, address: str = "a") -> str:
    for spec in (root / "specs").glob("*.toml"):
        spec.unlink()
    write_spec(root, "a.toml", text)
    plan = Workspace.open(root).plan(PlanRequest()).plan
    return next(c.content_key for c in plan.changes if c.address == address)


def test_key_is_versioned_canonical_json() -> None:
    material = {"b": 1, "a": {"z": "é", "y": [1, 2]}}
    assert canonical_json(material) == '{"a":{"y":[1,2],"z":"é"},"b":1}'
    import hashlib

    expected = hashlib.sha256(f"{KEY_VERSION}\n{canonical_json(material)}".encode()).hexdigest()
    assert content_key(material) == expected
    assert content_key({"a": {"y": [1, 2], "z": "é"}, "b": 1}) == expected


def test_normalised_values_and_explicit_defaults_give_the_same_key(project: Path) -> None:
    base = key_of(project, BASE)
    assert key_of(project, BASE + 'resolution = "720P"\n') == base  # catalog default, any case
    assert key_of(project, BASE + "duration = 5\n") == base
    assert key_of(project, BASE.replace("Subject turns.", "  Subject turns.  ")) == base
    assert key_of(project, BASE + 'tags = ["x"]\ndescription = "d"\noutput = "o.gif"\n') == base
    assert key_of(project, BASE.replace("model =", "# comment\nmodel   =")) == base


def test_what_shapes_the_output_changes_the_key(project: Path) -> None:
    base = key_of(project, BASE)
    variants = [
        BASE.replace("seed = 3", "seed = 4"),
        BASE.replace("Subject turns.", "Subject waves."),
        BASE + 'resolution = "1080p"\n',
        BASE + "duration = 10\n",
        BASE + 'negative_prompt = "blur"\n',
        BASE + "prompt_expansion = false\n",
        BASE + "params = { shift = 5 }\n",
        BASE.replace('model = "wan-2.5"', 'model = "wan-2.7"'),
    ]
    keys = {key_of(project, v) for v in variants}
    assert base not in keys and len(keys) == len(variants)


def test_input_files_count_by_their_bytes_not_their_path(project: Path) -> None:
    base = key_of(project, BASE)
    shutil.copy(project / "inputs/hero.png", project / "inputs/renamed.png")
    assert key_of(project, BASE.replace("hero.png", "renamed.png")) == base
    assert key_of(project, BASE.replace("hero.png", "forest.png")) != base
    (project / "inputs/renamed.png").write_bytes(b"other bytes")
    assert key_of(project, BASE.replace("hero.png", "renamed.png")) != base
