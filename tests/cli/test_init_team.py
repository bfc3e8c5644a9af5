"""`wanplan init --backend postgres`: settings and CI files for a team's state in PostgreSQL and
its cache in a bucket (PRODUCT §11). Secrets come from CI secrets only, pull requests plan with
a read-only role and nothing else, main applies with the writer's role and the bucket's
credentials, and nothing is committed back to git."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.cli.test_init_ci import _flatten, bash, heredocs, resolve, wanplan_commands
from tests.conftest import POSTGRES_ADMIN, Run, postgres_admin
from wanplan.config import load_config
from wanplan.scaffold.project_files import template_text

GITHUB = ".github/workflows/wanplan.yml"
GITLAB = ".gitlab-ci.wanplan.yml"
TEMPLATES = {
    "wanplan.toml": "team/wanplan.toml",
    GITHUB: "team/github-workflow.yml",
    GITLAB: "team/gitlab-ci.yml",
}
SOLO = {GITHUB: "github-workflow.yml", GITLAB: "gitlab-ci.yml"}
SECRET = re.compile(r"\$\{\{ secrets\.(\w+) \}\}")
A_PASSWORD_IN_A_URL = re.compile(r"://[^/\s@:]+:[^/\s@]+@")
PROVIDER_KEYS = ("WAVESPEED_API_KEY", "DASHSCOPE_API_KEY", "APIXO_API_KEY", "WANAPI_API_KEY")


def template(name: str) -> str:
    """The file as `wanplan init` writes it."""
    return template_text(name)


def load(destination: str) -> dict[Any, Any]:
    document = yaml.safe_load(template(TEMPLATES[destination]))
    assert isinstance(document, dict)
    return document


def strings(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], str]]:
    """Every string in a YAML document, with the keys that lead to it."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from strings(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from strings(value, (*path, index))
    elif isinstance(node, str):
        yield path, node


def step_named(job: str, name: str) -> dict[str, Any]:
    return next(s for s in load(GITHUB)["jobs"][job]["steps"] if s.get("name") == name)


def run_step(
    step: dict[str, Any], cwd: Path, secrets: dict[str, str], **env: str
) -> subprocess.CompletedProcess[str]:
    """Runs a step's script as GitHub does (bash -eo pipefail) with this virtualenv's wanplan,
    its secrets given (an unset one is empty, as on GitHub) and nothing of this machine's
    state, cache or AWS settings."""
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "WANPLAN_STATE", "WANPLAN_CACHE", "PG"))
        and name not in PROVIDER_KEYS
    }
    given = {
        name: SECRET.sub(lambda m: secrets.get(m[1], ""), str(value))
        for name, value in step.get("env", {}).items()
    }
    variables = {
        **inherited,
        **load(GITHUB)["env"],
        **given,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        **env,
    }
    return bash(step["run"], cwd, variables)


def test_init_backend_postgres_writes_the_team_files(run: Run, tmp_path: Path) -> None:
    result = run(tmp_path, "init", "--backend", "postgres")
    assert result.exit_code == 0, result.output
    for destination, name in TEMPLATES.items():
        assert (tmp_path / destination).read_text("utf-8") == template(name)
        assert f"created {destination}" in result.output
    assert not (tmp_path / "state").exists()  # the state is the database's
    assert "/state/" in (tmp_path / ".gitignore").read_text("utf-8").split()
    assert "WANPLAN_STATE_URL" in result.output and "secrets" in result.output
    assert run(tmp_path, "validate").exit_code == 0


def test_init_defaults_to_sqlite_and_refuses_an_unknown_backend(run: Run, tmp_path: Path) -> None:
    solo = tmp_path / "solo"
    solo.mkdir()
    assert run(solo, "init", "--ci", "github").exit_code == 0
    assert (solo / GITHUB).read_text("utf-8") == template(SOLO[GITHUB])
    assert (solo / "state").is_dir()
    refused = run(tmp_path, "init", "--backend", "mysql")
    assert refused.exit_code == 1
    assert "Invalid value for '--backend': 'mysql' is not one of 'sqlite', 'postgres'" in (
        refused.output
    )
    assert not (tmp_path / "wanplan.toml").exists()
    assert "wanplan init --backend postgres" in run(tmp_path, "init", "--help").output


def test_team_settings_leave_the_urls_and_every_secret_to_the_environment(tmp_path: Path) -> None:
    text = template(TEMPLATES["wanplan.toml"])
    (tmp_path / "wanplan.toml").write_text(text, "utf-8")
    config = load_config(tmp_path)
    assert config.state.url is None and config.cache.url is None  # WANPLAN_*_URL from secrets
    assert config.state.lease_seconds == 60
    assert "[state]" in text.splitlines() and "[cache]" in text.splitlines()
    assert "WANPLAN_STATE_URL" in text and "WANPLAN_CACHE_URL" in text
    settings = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    assert not re.search(r"password|secret|key|url\s*=", "\n".join(settings), re.I)
    for name in TEMPLATES.values():
        assert not A_PASSWORD_IN_A_URL.search(template(name)), name


def test_team_workflows_commit_nothing_back_and_keep_no_state_in_git() -> None:
    for destination in (GITHUB, GITLAB):
        text = template(TEMPLATES[destination])
        for absent in ("git push", "git commit", "git add", "state/wanplan.db", "wanplan-state"):
            assert absent not in text, (destination, absent)
        assert "force-unlock" not in text and "actions/cache" not in text
        assert 'pip install "wanplan[team]==$WANPLAN_VERSION"' in text


def test_team_github_secrets_come_only_from_ci_secrets_into_step_variables() -> None:
    workflow = load(GITHUB)
    for path, value in strings(workflow):
        if "secrets." in value:
            assert path[-2] == "env" and SECRET.fullmatch(value), path


def test_team_github_plans_pull_requests_with_the_read_only_role_only() -> None:
    workflow = load(GITHUB)
    assert workflow[True]["pull_request"]["branches"] == ["main"]  # YAML 1.1 reads `on` as true
    plan = workflow["jobs"]["plan"]
    assert "pull_request" in plan["if"] and "env" not in plan
    dumped = json.dumps(plan)
    assert "AWS_" not in dumped and "_API_KEY" not in dumped
    assert set(SECRET.findall(dumped)) == {
        "WANPLAN_STATE_URL_READONLY",
        "PGPASSWORD_READONLY",
        "WANPLAN_CACHE_URL",  # the bucket's address: with it, missing outputs are not changes
    }
    planning = [
        s
        for s in plan["steps"]
        if re.search(r"^ *wanplan (-C base )?plan ", s.get("run", ""), re.M)
    ]
    assert len(planning) == 2  # the base branch, then the pull request
    for step in planning:
        assert step["env"] == {
            "WANPLAN_STATE_URL": "${{ secrets.WANPLAN_STATE_URL_READONLY }}",
            "PGPASSWORD": "${{ secrets.PGPASSWORD_READONLY }}",
            "WANPLAN_CACHE_URL": "${{ secrets.WANPLAN_CACHE_URL }}",
        }
    # One plan per pull request; the newer push wins.
    assert "github.event.pull_request.number" in plan["concurrency"]["group"]
    assert plan["concurrency"]["cancel-in-progress"] is True
    assert plan["timeout-minutes"] == 15
    assert plan["steps"][-2] == comment_step(SOLO[GITHUB])  # the same tested `wanplan comment`


def comment_step(name: str) -> dict[str, Any]:
    steps = yaml.safe_load(template(name))["jobs"]["plan"]["steps"]
    step: dict[str, Any] = next(s for s in steps if s.get("name") == "Post the plan as a comment")
    return step


def test_team_github_applies_main_with_the_writer_role_and_the_cache_credentials() -> None:
    workflow = load(GITHUB)
    apply = workflow["jobs"]["apply"]
    assert "push" in apply["if"]
    # Nothing is pushed; the result is commented on the merged pull request.
    assert apply["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert "concurrency" not in apply and "concurrency" not in workflow  # runs side by side
    assert apply["timeout-minutes"] == 60
    (step,) = [s for s in apply["steps"] if "wanplan apply -y" in s.get("run", "")]
    expected = {
        "WANPLAN_STATE_URL",
        "PGPASSWORD",
        "WANPLAN_CACHE_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
        "AWS_ENDPOINT_URL",
        *PROVIDER_KEYS,
    }
    assert set(step["env"]) == expected
    for name, value in step["env"].items():
        assert value == f"${{{{ secrets.{name} }}}}"
    # Only the apply step sees the writer's secrets.
    others = [s for job in workflow["jobs"].values() for s in job["steps"] if s is not step]
    seen = set(SECRET.findall(json.dumps(others)))
    assert seen == {"WANPLAN_STATE_URL_READONLY", "PGPASSWORD_READONLY", "WANPLAN_CACHE_URL"}
    used = {s["uses"] for job in workflow["jobs"].values() for s in job["steps"] if "uses" in s}
    assert used == {
        "actions/checkout@v4",
        "actions/setup-python@v5",
        "actions/upload-artifact@v4",
    }


def test_team_gitlab_plans_with_the_read_only_role_and_applies_side_by_side() -> None:
    pipeline = load(GITLAB)
    plan, apply = pipeline["wanplan:plan"], pipeline["wanplan:apply"]
    assert "merge_request_event" in plan["rules"][0]["if"]
    assert "$CI_DEFAULT_BRANCH" in apply["rules"][0]["if"]
    assert "resource_group" not in apply and plan["interruptible"] is True
    assert not any("cache" in job for job in pipeline.values() if isinstance(job, dict))
    plan_script = "\n".join(_flatten(plan["script"]))
    assert 'WANPLAN_STATE_URL="${WANPLAN_STATE_URL_READONLY:-}"' in plan_script
    assert 'PGPASSWORD="${PGPASSWORD_READONLY:-}"' in plan_script
    (unset,) = [line for line in _flatten(plan["script"]) if line.startswith("unset ")]
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", *PROVIDER_KEYS} <= set(unset.split())
    apply_script = "\n".join(_flatten(apply["script"]))
    assert "wanplan apply -y" in apply_script and "READONLY" not in apply_script
    assert apply["artifacts"]["paths"] == ["outputs/"]
    assert (plan["timeout"], apply["timeout"]) == ("15 minutes", "60 minutes")
    solo = yaml.safe_load(template(SOLO[GITLAB]))["wanplan:plan"]["script"]
    (poster,) = [line for line in _flatten(plan["script"]) if "wanplan comment" in line]
    assert poster in _flatten(solo)  # the same tested `wanplan comment`


def team_scripts() -> list[tuple[str, dict[str, str]]]:
    workflow = load(GITHUB)
    scripts = [
        (step["run"], {**workflow["env"], **step.get("env", {})})
        for job in workflow["jobs"].values()
        for step in job["steps"]
        if "run" in step
    ]
    pipeline = load(GITLAB)
    for job in pipeline.values():
        if isinstance(job, dict):
            for key in ("before_script", "script"):
                scripts.extend((line, pipeline["variables"]) for line in _flatten(job.get(key, [])))
    return scripts


def test_team_command_lines_parse_and_scripts_are_valid_shell() -> None:
    commands = [c for script, env in team_scripts() for c in wanplan_commands(script, env)]
    for arguments in commands:
        resolve(arguments)
    assert ["-C", "base", "plan", "--format", "json"] in commands
    assert ["apply", "-y", "--max-cost", "20", "--lock-timeout", "10m"] in commands
    if shutil.which("bash") is None:
        pytest.skip("needs bash")
    for script, _ in team_scripts():
        checked = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
        assert checked.returncode == 0, f"{checked.stderr}\n{script}"
        for _, body in heredocs(script + "\n"):
            compile(body, "heredoc", "exec")


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_team_jobs_without_their_secrets_stop_with_one_line(tmp_path: Path) -> None:
    """A pull request from a fork gets no secrets: the plan says so instead of planning
    against an empty local state."""
    planned = run_step(step_named("plan", "Plan the base branch"), tmp_path, {})
    assert planned.returncode == 1
    assert "::error::The secrets WANPLAN_STATE_URL_READONLY" in planned.stdout
    assert not (tmp_path / "base.json").exists()
    applied = run_step(step_named("apply", "Apply within the budget"), tmp_path, {})
    assert applied.returncode == 1 and "::error::The secrets WANPLAN_STATE_URL" in applied.stdout
    plan_script = "\n".join(_flatten(load(GITLAB)["wanplan:plan"]["script"]))
    stopped = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", plan_script],
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"], "AWS_SECRET_ACCESS_KEY": "x"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert stopped.returncode == 1 and "WANPLAN_STATE_URL_READONLY" in stopped.stdout


@pytest.fixture
def team_database() -> Iterator[dict[str, str]]:
    """A database set up as the README says: a writer role owning it, and a read-only role
    granted before the first apply creates the tables. Returns the CI secrets."""
    suffix = uuid.uuid4().hex[:8]
    database, writer, reader = f"wanplan_team_{suffix}", f"wanplan_{suffix}", f"wanplan_ro_{suffix}"
    admin_url = urlsplit(POSTGRES_ADMIN)
    server = f"{admin_url.hostname}:{admin_url.port or 5432}"
    with postgres_admin() as admin:
        admin.execute(f"create role {writer} login password 'writer-pw'")
        admin.execute(f"create role {reader} login password 'reader-pw'")
        admin.execute(f"create database {database} owner {writer}")
    import psycopg

    try:
        # Connected to the database as its owner, the writer (README, "wanplan for teams").
        with psycopg.connect(
            f"postgresql://{writer}@{server}/{database}", password="writer-pw", autocommit=True
        ) as owner:
            for statement in (
                f"grant connect on database {database} to {reader}",
                f"grant usage on schema public to {reader}",
                f"grant select on all tables in schema public to {reader}",
                f"alter default privileges in schema public grant select on tables to {reader}",
            ):
                owner.execute(statement)
        yield {
            "WANPLAN_STATE_URL": f"postgresql://{writer}@{server}/{database}",
            "PGPASSWORD": "writer-pw",
            "WANPLAN_STATE_URL_READONLY": f"postgresql://{reader}@{server}/{database}",
            "PGPASSWORD_READONLY": "reader-pw",
        }
    finally:
        with postgres_admin() as admin:
            admin.execute(f"drop database if exists {database} with (force)")
            admin.execute(f"drop role if exists {reader}")
            admin.execute(f"drop role if exists {writer}")


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_team_workflow_applies_main_then_plans_a_fresh_pull_request_read_only(
    run: Run, tmp_path: Path, team_database: dict[str, str], s3_cache: str
) -> None:
    """The GitHub workflow's own steps, end to end: main applies through PostgreSQL and the
    bucket; a pull request's fresh runner (no outputs, no cache, no AWS credentials, the
    read-only role) then plans no changes."""
    main = tmp_path / "main"
    main.mkdir()
    assert run(main, "init", "--backend", "postgres", "--ci", "github").exit_code == 0
    aws = {name: os.environ[name] for name in os.environ if name.startswith("AWS_")}
    secrets = {**team_database, "WANPLAN_CACHE_URL": s3_cache, **aws}

    applied = run_step(step_named("apply", "Apply within the budget"), main, secrets)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "2 created" in applied.stdout
    assert not (main / "state").exists()

    head = tmp_path / "head"
    fresh = shutil.ignore_patterns("outputs", ".wanplan", "state")
    shutil.copytree(main, head, ignore=fresh)
    shutil.copytree(main, head / "base", ignore=fresh)
    files = {"GITHUB_OUTPUT": str(tmp_path / "output"), "GITHUB_STEP_SUMMARY": str(tmp_path / "s")}
    base = run_step(step_named("plan", "Plan the base branch"), head, secrets, **files)
    assert base.returncode == 0, base.stderr
    assert json.loads((head / "base.json").read_text("utf-8"))["changes"] == []
    planned = run_step(step_named("plan", "Plan this pull request"), head, secrets, **files)
    assert planned.returncode == 0, planned.stderr
    assert (tmp_path / "output").read_text("utf-8").strip() == "exit_code=0"
    assert "**No changes.**" in (head / "plan.md").read_text("utf-8")
    assert not (head / "outputs").exists() and not (head / ".wanplan").exists()
