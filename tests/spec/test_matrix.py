"""`matrix`: one asset table declares one asset per combination of values, with stable,
readable addresses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Run, write_spec

PROMO = """version = 1
[assets.promo]
model = "wan-2.5"
mode = "t2v"
prompt = "A fox in the snow."
matrix = {matrix}
"""


def addresses(run: Run, root: Path) -> list[str]:
    result = run(root, "plan", "--format", "json")
    assert result.exit_code == 0, result.output
    return [c["address"] for c in json.loads(result.stdout)["changes"]]


def test_one_asset_per_combination_with_readable_addresses(run: Run, empty_project: Path) -> None:
    write_spec(
        empty_project,
        "promo.toml",
        PROMO.format(matrix='{ aspect_ratio = ["16:9", "9:16"], seed = [1, 2] }'),
    )
    assert addresses(run, empty_project) == [
        "promo.aspect_ratio-16x9.seed-1",
        "promo.aspect_ratio-16x9.seed-2",
        "promo.aspect_ratio-9x16.seed-1",
        "promo.aspect_ratio-9x16.seed-2",
    ]
    document = json.loads(run(empty_project, "plan", "--format", "json").stdout)
    assert len({c["content_key"] for c in document["changes"]}) == 4


def test_adding_a_value_adds_assets_and_renames_none(run: Run, empty_project: Path) -> None:
    write_spec(empty_project, "promo.toml", PROMO.format(matrix="{ seed = [1, 2] }"))
    assert run(empty_project, "apply", "-y").exit_code == 0
    write_spec(empty_project, "promo.toml", PROMO.format(matrix="{ seed = [1, 2, 3] }"))
    result = json.loads(run(empty_project, "plan", "--format", "json").stdout)
    assert [(c["address"], c["action"]) for c in result["changes"]] == [("promo.seed-3", "create")]
    assert result["summary"]["unchanged"] == 2


def test_a_member_can_be_targeted_and_used_upstream(run: Run, empty_project: Path) -> None:
    write_spec(
        empty_project,
        "stills.toml",
        'version = 1\n[assets.still]\nmodel = "wan-2.5"\nmode = "t2i"\nprompt = "A fern."\n'
        "matrix = { seed = [7, 8] }\n"
        '[assets.moving]\nmodel = "wan-2.5"\nmode = "i2v"\nimage = "asset:still.seed-8"\n'
        "seed = 1\n",
    )
    planned = addresses(run, empty_project)
    assert planned == ["moving", "still.seed-7", "still.seed-8"]
    result = run(empty_project, "plan", "--target", "moving", "--format", "json")
    assert [c["address"] for c in json.loads(result.stdout)["changes"]] == [
        "moving",
        "still.seed-8",
    ]


@pytest.mark.parametrize(
    ("matrix", "message"),
    [
        ('["a"]', "assets.promo.matrix: must be a table of lists"),
        ("{ sed = [1] }", "'sed' cannot vary in a matrix"),
        ('{ output = ["a.gif"] }', "'output' cannot vary in a matrix"),
        ('{ prompt = ["x"] }', "prompt is set on the asset and in its matrix; keep one"),
        ("{ seed = [] }", "seed must be a non-empty list of values"),
        ("{ seed = [[1]] }", "a matrix varies plain values"),
        (
            "{ seed = ["
            + ", ".join(map(str, range(17)))
            + "], duration = ["
            + ", ".join(["5"] * 16)
            + "] }",
            "makes 272 assets; at most 256 per matrix",
        ),
        ('{ aspect_ratio = ["16:9", "16x9"] }', "give the same address promo.aspect_ratio-16x9"),
        ('{ negative_prompt = ["' + "x" * 120 + '"] }', "longer than 100 characters"),
        ('{ seed = [1, "two"] }', "specs/promo.toml:6: assets.promo.matrix.seed: expected a whole"),
    ],
)
def test_an_impossible_matrix_is_refused_on_its_line(
    run: Run, empty_project: Path, matrix: str, message: str
) -> None:
    write_spec(empty_project, "promo.toml", PROMO.format(matrix=matrix))
    result = run(empty_project, "validate")
    assert result.exit_code == 1
    assert message in result.stderr, result.stderr
    assert "specs/promo.toml:6:" in result.stderr
    assert "Traceback" not in result.output


def test_a_member_that_clashes_with_a_declared_asset_is_refused(
    run: Run, empty_project: Path
) -> None:
    write_spec(
        empty_project,
        "promo.toml",
        PROMO.format(matrix="{ seed = [1] }")
        + '[assets."promo.seed-1"]\nmodel = "wan-2.5"\nmode = "t2v"\nprompt = "x"\n',
    )
    result = run(empty_project, "validate")
    assert result.exit_code == 1
    assert "makes promo.seed-1, which is declared already" in result.stderr


def test_a_matrix_name_targets_all_its_members(run: Run, empty_project: Path) -> None:
    write_spec(empty_project, "promo.toml", PROMO.format(matrix="{ seed = [1, 2] }"))
    write_spec(
        empty_project,
        "other.toml",
        'version = 1\n[assets.other]\nmodel = "wan-2.5"\nmode = "t2v"\nprompt = "x"\nseed = 3\n',
    )
    result = run(empty_project, "plan", "--target", "promo", "--format", "json")
    assert [c["address"] for c in json.loads(result.stdout)["changes"]] == [
        "promo.seed-1",
        "promo.seed-2",
    ]
    unknown = run(empty_project, "plan", "--target", "prom")
    assert unknown.exit_code == 1 and "no such asset" in unknown.stderr


def test_a_mistake_shared_by_every_member_is_reported_once_at_its_line(
    run: Run, empty_project: Path
) -> None:
    write_spec(
        empty_project,
        "promo.toml",
        'version = 1\n[assets.promo]\nmodel = "wan-2.5"\nmode = "t2i"\nprompt = "x"\n'
        'duration = 5\nmatrix = { aspect_ratio = ["16:9", "4:5"], seed = [1, 2] }\n',
    )
    lines = run(empty_project, "validate").stderr.splitlines()
    assert lines[0] == (
        "error: specs/promo.toml:6: assets.promo.duration: not used here (mode t2i makes an "
        "image); remove it"
    )
    varied = [line for line in lines if "matrix.aspect_ratio" in line]
    assert [line.rsplit("(in ", 1)[1] for line in varied] == [
        "promo.aspect_ratio-4x5.seed-1)",
        "promo.aspect_ratio-4x5.seed-2)",
    ]
    assert all(line.startswith("error: specs/promo.toml:7:") for line in varied)
    assert len(lines) == 3
