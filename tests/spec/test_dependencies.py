"""Assets that use other assets' outputs (`image = "asset:NAME"`): applied upstream first, a
change upstream replaces downstream, a cycle refused with the cycle printed, `wanplan graph`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import Run, emulator_for_wanplan, write_spec
from wanplan.emulator import Knobs
from wanplan.providers import wire
from wanplan.providers.base import RequestInput
from wanplan.spec.dependencies import upstream_order

CHAIN = """version = 1
[defaults]
model = "wan-2.5"

[assets.still]
mode = "t2i"
prompt = "A lighthouse at dusk."
seed = 11

[assets.still-moves]
mode = "i2v"
image = "asset:still"
prompt = "The beam sweeps slowly."
seed = 12

[assets.closing]
mode = "flf2v"
model = "wan-2.7"
first_frame = "asset:still"
last_frame = "inputs/forest.png"
seed = 13

[assets.unrelated]
mode = "t2v"
prompt = "Waves on rocks."
seed = 14
"""


def events(output: str) -> list[dict[str, str]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_upstream_is_applied_first_and_its_output_is_the_input(
    run: Run, empty_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The still is made offline (sim), the clip from it by APIXO, which takes local files as
    data: URLs: the bytes it received are the still's."""
    (empty_project / "inputs" / "forest.png").write_bytes(b"\x89PNG fake")
    spec = CHAIN.replace('image = "asset:still"\n', 'image = "asset:still"\nprovider = "apixo"\n')
    write_spec(empty_project, "chain.toml", spec)
    sent: list[bytes] = []
    encode = wire.data_url

    def recording(item: RequestInput) -> str:
        assert item.path is not None
        sent.append(item.path.read_bytes())
        return encode(item)

    monkeypatch.setattr(wire, "data_url", recording)
    knobs = Knobs(latency=0.3, time_scale=0.01)
    with emulator_for_wanplan(monkeypatch, knobs, "sk-dag") as emulator:
        result = run(empty_project, "apply", "-y", "--log-format", "json")
        assert result.exit_code == 0, result.output
        submits = [r for r in emulator.requests(provider="apixo") if r.method == "POST"]
    log = events(result.stdout)
    done = {e["address"]: i for i, e in enumerate(log) if e.get("event") == "created"}
    submitted = {e["address"]: i for i, e in enumerate(log) if e.get("event") == "submitted"}
    assert done["still"] < submitted["still-moves"] and done["still"] < submitted["closing"]
    assert len(submits) == 1
    assert sent == [(empty_project / "outputs" / "still.png").read_bytes()]


def test_a_change_upstream_replaces_downstream(run: Run, empty_project: Path) -> None:
    (empty_project / "inputs" / "forest.png").write_bytes(b"\x89PNG fake but hashed")
    write_spec(empty_project, "chain.toml", CHAIN)
    assert run(empty_project, "apply", "-y").exit_code == 0, "first apply"
    write_spec(empty_project, "chain.toml", CHAIN.replace("at dusk", "at night"))
    plan = json.loads(run(empty_project, "plan", "--format", "json").stdout)
    changes = {c["address"]: (c["action"], c["reasons"]) for c in plan["changes"]}
    assert changes == {
        "still": ("replace", ["prompt"]),
        "still-moves": ("replace", ["image"]),
        "closing": ("replace", ["first_frame"]),
    }
    assert plan["summary"]["unchanged"] == 1


def test_a_target_brings_the_assets_it_uses(run: Run, empty_project: Path) -> None:
    (empty_project / "inputs" / "forest.png").write_bytes(b"\x89PNG fake")
    write_spec(empty_project, "chain.toml", CHAIN)
    plan = json.loads(
        run(empty_project, "plan", "--target", "still-moves", "--format", "json").stdout
    )
    assert [c["address"] for c in plan["changes"]] == ["still", "still-moves"]


def test_a_failed_upstream_skips_its_dependants_only(run: Run, empty_project: Path) -> None:
    (empty_project / "inputs" / "forest.png").write_bytes(b"\x89PNG fake")
    write_spec(
        empty_project,
        "chain.toml",
        CHAIN.replace("seed = 11\n", 'seed = 11\nparams = { sim_fail = "content policy" }\n'),
    )
    result = run(empty_project, "apply", "-y")
    assert result.exit_code == 1
    assert "skipped: still, whose output it uses, failed" in result.stdout
    made = sorted(p.name for p in (empty_project / "outputs").iterdir() if p.suffix != ".json")
    assert made == ["unrelated.gif"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            'version = 1\n[assets.a]\nmode = "i2v"\nmodel = "wan-2.5"\nimage = "asset:b"\n'
            '[assets.b]\nmode = "i2v"\nmodel = "wan-2.5"\nimage = "asset:a"\n',
            "specs/loop.toml:5: assets.a.image: dependency cycle: a → b → a",
        ),
        (
            'version = 1\n[assets.a]\nmode = "i2v"\nmodel = "wan-2.5"\nimage = "asset:a"\n',
            "assets.a.image: dependency cycle: a → a",
        ),
        (
            'version = 1\n[assets.still]\nmode = "t2i"\nmodel = "wan-2.5"\nprompt = "x"\n'
            '[assets.b]\nmode = "i2v"\nmodel = "wan-2.5"\nimage = "asset:stil"\n',
            "assets.b.image: 'asset:stil': no asset 'stil' is declared (did you mean 'still'?)",
        ),
        (
            'version = 1\n[assets.clip]\nmode = "t2v"\nmodel = "wan-2.5"\nprompt = "x"\n'
            '[assets.b]\nmode = "i2v"\nmodel = "wan-2.5"\nimage = "asset:clip"\n',
            "assets.b.image: 'asset:clip': clip makes a video (t2v); image needs an image",
        ),
    ],
)
def test_impossible_dependencies_are_refused(
    run: Run, empty_project: Path, spec: str, message: str
) -> None:
    write_spec(empty_project, "loop.toml", spec)
    result = run(empty_project, "validate")
    assert result.exit_code == 1
    assert message in result.stderr, result.stderr


def test_upstream_order_puts_every_upstream_first() -> None:
    class Asset:
        def __init__(self, address: str, image: str | None = None) -> None:
            self.address = address
            self.spec = {"image": image} if image else {}

    assets = [Asset("d", "asset:c"), Asset("c", "asset:b"), Asset("b", "asset:a"), Asset("a")]
    order, cycles = upstream_order(assets)
    assert [a.address for a in order] == ["a", "b", "c", "d"] and cycles == []
    looped = [Asset("x", "asset:y"), Asset("y", "asset:x"), Asset("z", "asset:y"), Asset("w")]
    order, cycles = upstream_order(looped)
    assert [a.address for a in order] == ["w"]
    assert cycles == [["x", "y", "x"]]


def test_graph_in_mermaid_and_dot(run: Run, empty_project: Path) -> None:
    (empty_project / "inputs" / "forest.png").write_bytes(b"\x89PNG fake")
    write_spec(empty_project, "chain.toml", CHAIN)
    mermaid = run(empty_project, "graph").stdout.splitlines()
    assert mermaid[0] == "flowchart LR"
    ids = {line.split("[")[0].strip(): line for line in mermaid[1:] if "[" in line}
    by_name = {line.split('"')[1].split("<br/>")[0]: node for node, line in ids.items()}
    assert f"  {by_name['still']} -->|image| {by_name['still-moves']}" in mermaid
    assert f"  {by_name['still']} -->|first_frame| {by_name['closing']}" in mermaid
    assert f"  {by_name['inputs/forest.png']} -->|last_frame| {by_name['closing']}" in mermaid
    dot = run(empty_project, "graph", "--format", "dot", "--no-files").stdout
    assert '"asset:still" -> "asset:still-moves" [label="image"];' in dot
    assert "forest.png" not in dot
    assert dot.startswith("digraph wanplan {") and dot.rstrip().endswith("}")


def test_a_lost_cache_does_not_strand_the_dependants(run: Run, empty_project: Path) -> None:
    """A fresh CI runner has outputs but no blob cache: the upstream's intact output feeds
    its dependant; and when the upstream itself must be made again, the dependant waits."""
    (empty_project / "inputs" / "forest.png").write_bytes(b"\x89PNG fake")
    write_spec(empty_project, "chain.toml", CHAIN)
    assert run(empty_project, "apply", "-y").exit_code == 0
    shutil.rmtree(empty_project / ".wanplan" / "blobs")
    write_spec(empty_project, "chain.toml", CHAIN.replace("slowly", "quickly"))
    changed = run(empty_project, "apply", "-y", "--target", "still-moves")
    assert changed.exit_code == 0, changed.output
    assert "replaced" in changed.stdout and "skipped" not in changed.stdout

    shutil.rmtree(empty_project / ".wanplan" / "blobs")
    (empty_project / "outputs" / "still.png").unlink()
    write_spec(empty_project, "chain.toml", CHAIN.replace("slowly", "gently"))
    both = run(empty_project, "apply", "-y", "--target", "still-moves")
    assert both.exit_code == 0, both.output
    assert "still: repaired" in both.stdout and "still-moves: replaced" in both.stdout
    assert "skipped" not in both.stdout


def test_another_assets_output_is_sent_with_its_own_type(tmp_path: Path) -> None:
    """Read from the cache, the file is named by its sha256: its type comes from the output's
    name (outputs/still.png), not from the cache's."""
    cached = tmp_path / ("ab" * 32)
    cached.write_bytes(b"\x89PNG\r\n\x1a\n")
    item = RequestInput("image", "outputs/still.png", "ab" * 32, cached)
    assert item.name == "still.png"
    assert wire.data_url(item).startswith("data:image/png;base64,")
