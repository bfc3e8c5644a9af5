"""Everything a spec names stays inside the project: a pull request cannot make CI read a file
outside the repository (and upload it to a provider), nor write outside outputs/ and the cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Run, write_spec

ASSET = 'version = 1\n[assets.shot]\nmodel = "wan-2.5"\nprompt = "A fern."\nseed = 1\n'


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret.png"
    path.write_bytes((Path(__file__).parent.parent / "inputs" / "hero.png").read_bytes())
    return path


def refused(run: Run, root: Path, *expected: str) -> str:
    result = run(root, "plan")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    for text in expected:
        assert text in result.stderr
    assert not (root / "state").exists() and not (root / "outputs").exists()
    return result.stderr


@pytest.mark.parametrize(
    "source",
    ["../secret.png", "inputs/../../secret.png", "/etc/passwd", "{secret}", "~/secret.png"],
)
def test_an_input_outside_the_project_is_refused(
    run: Run, project: Path, secret: Path, source: str
) -> None:
    source = source.format(secret=secret)
    write_spec(project, "shot.toml", ASSET + f'mode = "i2v"\nimage = "{source}"\n')
    refused(run, project, "assets.shot.image")


def test_a_symlink_leaving_the_project_is_refused(run: Run, project: Path, secret: Path) -> None:
    (project / "inputs" / "link.png").symlink_to(secret)
    write_spec(project, "shot.toml", ASSET + 'mode = "i2v"\nimage = "inputs/link.png"\n')
    refused(run, project, "assets.shot.image", "inputs/link.png")


def test_a_symlinked_folder_leaving_the_project_is_refused(
    run: Run, project: Path, secret: Path
) -> None:
    (project / "inputs" / "elsewhere").symlink_to(secret.parent)
    write_spec(
        project, "shot.toml", ASSET + 'mode = "i2v"\nimage = "inputs/elsewhere/secret.png"\n'
    )
    refused(run, project, "assets.shot.image")


def test_a_symlink_inside_the_project_is_fine(run: Run, project: Path) -> None:
    (project / "inputs" / "alias.png").symlink_to(project / "inputs" / "hero.png")
    write_spec(project, "shot.toml", ASSET + 'mode = "i2v"\nimage = "inputs/alias.png"\n')
    assert run(project, "plan").exit_code == 0


@pytest.mark.parametrize(
    "output",
    ["../x.gif", "/tmp/x.gif", "outputs/../specs/launch.toml", "a/../../x.gif", "a\\b", "a\tb.gif"],
)
def test_an_output_outside_outputs_is_refused(run: Run, project: Path, output: str) -> None:
    write_spec(project, "shot.toml", ASSET + f"mode = 't2v'\noutput = '{output}'\n")
    refused(run, project, "assets.shot.output")


@pytest.mark.parametrize("state", ["/tmp/elsewhere.db", "../elsewhere.db", "state/../../x.db"])
def test_a_state_file_outside_the_project_is_refused(run: Run, project: Path, state: str) -> None:
    config = project / "wanplan.toml"
    config.write_text(config.read_text().replace("[project]\n", f'[project]\nstate = "{state}"\n'))
    message = refused(run, project, "wanplan.toml", "project.state")
    assert "inside the project" in message


@pytest.mark.parametrize("name", ["../up", "UPPER", "with space", "a/b", "-dash", "x" * 101])
def test_asset_names_are_checked(run: Run, project: Path, name: str) -> None:
    write_spec(project, "shot.toml", f'version = 1\n[assets."{name}"]\nmode = "t2v"\n')
    refused(run, project, "specs/shot.toml")


@pytest.mark.parametrize("name", ["two.png.wanplan.json", ".hidden.gif", "a/.x.gif"])
def test_an_output_cannot_take_a_sidecars_or_a_hidden_name(
    run: Run, project: Path, name: str
) -> None:
    write_spec(project, "shot.toml", ASSET + f"mode = 't2v'\noutput = '{name}'\n")
    refused(run, project, "assets.shot.output")


@pytest.mark.parametrize("folder", ["outputs", ".wanplan", "state"])
def test_a_symlinked_folder_cannot_lead_writes_out(
    run: Run, project: Path, tmp_path: Path, folder: str
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (project / folder).symlink_to(elsewhere, target_is_directory=True)
    result = run(project, "apply", "-y")
    assert result.exit_code == 1
    assert "is a link that leads out of the project" in result.stderr
    assert list(elsewhere.iterdir()) == []


def test_a_profile_name_cannot_lead_outputs_out(run: Run, project: Path) -> None:
    (project / "wanplan.toml").write_text('[profiles."../x"]\nresolution = "480p"\n')
    result = run(project, "plan", "--profile", "../x")
    assert result.exit_code == 1 and "profile name '../x'" in result.stderr
    assert not (project / "x").exists()


@pytest.mark.parametrize("name", ["wanplan.db", "wanplan.db-wal", "wanplan.db-shm"])
def test_a_symlinked_state_file_cannot_lead_writes_out(
    run: Run, project: Path, tmp_path: Path, name: str
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (project / "state").mkdir(exist_ok=True)
    (project / "state" / name).symlink_to(elsewhere / name)
    result = run(project, "apply", "-y")
    assert result.exit_code == 1
    assert "is a link that leads out of the project" in result.stderr
    assert list(elsewhere.iterdir()) == []


def test_a_specs_folder_linked_within_the_project_is_read(run: Run, project: Path) -> None:
    shared = project / "shared"
    shared.mkdir()
    (shared / "extra.toml").write_text(ASSET.replace("shot", "linked") + 'mode = "t2v"\n')
    (project / "specs" / "shared").symlink_to(shared)
    (project / "specs" / "again").symlink_to(project / "specs")  # a loop: read once
    result = run(project, "plan", "--target", "linked")
    assert result.exit_code == 0, result.output
    assert "+ linked" in result.output
