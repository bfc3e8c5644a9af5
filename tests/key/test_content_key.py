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
    (project / "inputs/renamed.png").write_bytes(b"\x89PNG other bytes")
    assert key_of(project, BASE.replace("hero.png", "renamed.png")) != base


GOLDEN = {
    # What users' states hold: a change to any of these makes every such asset a `replace`,
    # paid again. Change one only with a deliberate migration named in the CHANGELOG.
    (
        "sim",
        "t2v",
        "wan-2.5",
        "",
    ): "8a7a08dcf638c968058255bb4248cdb9f02857cddc540e1378b5fb4aa4be292c",
    ("wavespeed", "t2v", "wan-2.6", ""): (
        "23b50ddaadbb518b5300cc6139fb259822fa19c06cf3577a4f02400c5f7354ce"
    ),
    ("wavespeed", "i2v", "wan-2.5", 'image = "inputs/hero.png"\n'): (
        "2651cbbb02ff6785706582dc17d8382036768c4173bef841f273c73b127abd75"
    ),
    ("dashscope", "t2v", "wan-2.7", ""): (
        "1c11ccad3aab667e01350e98801b0a046a72b4652aa4ef4f57d81a885771af4e"
    ),
    ("dashscope", "i2v", "wan-2.6", 'image = "inputs/hero.png"\n'): (
        "c74a33100bb945ae8fe4eaa2ac65e93099a0a22589f98acd50d998d1e697ece3"
    ),
    (
        "apixo",
        "t2v",
        "wan-2.5",
        "",
    ): "20802c0395ef9b1a44add451c36a50656a1482d15b43262d28a51791cdc60242",
    (
        "wanapi",
        "t2v",
        "wan-2.2",
        "",
    ): "ece4feb09b677720833b13cd8bfa9928c476246d40cf6683103ce680a0413af2",
}


def test_the_keys_users_hold_do_not_move(empty_project: Path) -> None:
    shutil.copy(Path(__file__).parents[2] / "inputs" / "hero.png", empty_project / "inputs")
    found = {
        shape: key_of(
            empty_project,
            f'[assets.a]\nprovider = "{shape[0]}"\nmode = "{shape[1]}"\nmodel = "{shape[2]}"\n'
            f'prompt = "A kite."\nseed = 3\n{shape[3]}',
        )
        for shape in GOLDEN
    }
    assert found == GOLDEN


def test_a_flash_variant_never_shares_a_key_with_its_model(project: Path) -> None:
    # APIXO's flash is a mode variant of the same model (wan-2-6-video, PROVIDERS.md §4b).
    apixo = BASE.replace("[assets.a]\n", '[assets.a]\nprovider = "apixo"\n')
    plain = apixo.replace('model = "wan-2.5"', 'model = "wan-2.6"')
    flash = apixo.replace('model = "wan-2.5"', 'model = "wan-2.6-flash"')
    assert key_of(project, plain) != key_of(project, flash)
