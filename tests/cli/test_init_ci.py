"""`wanplan init` writes CI files: a GitHub Actions workflow and a GitLab CI example that plan
pull requests and apply the main branch. Every `wanplan` command line in them must parse with
the real CLI, every script must be valid shell, and the steps that plan, comment and commit the
state must do what they say when run (with a fake GitHub on loopback for the comments)."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from tests.ci.fake_forge import TOKEN, FakeForge, serving
from tests.conftest import Run
from wanplan.cli.main import cli
from wanplan.render.markdown import MARKER
from wanplan.scaffold.project_files import template_text

GITHUB = ".github/workflows/wanplan.yml"
GITLAB = ".gitlab-ci.wanplan.yml"
TEMPLATES = {GITHUB: "github-workflow.yml", GITLAB: "gitlab-ci.yml"}


def template(destination: str) -> str:
    """The file as `wanplan init` writes it."""
    return template_text(TEMPLATES[destination])


def load(destination: str) -> dict[Any, Any]:
    document = yaml.safe_load(template(destination))
    assert isinstance(document, dict)
    return document


def github_scripts() -> list[tuple[str, dict[str, str]]]:
    """Each `run:` script of the workflow with the environment it sees from the workflow."""
    workflow = load(GITHUB)
    scripts = []
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            if "run" in step:
                env = {**workflow.get("env", {}), **job.get("env", {}), **step.get("env", {})}
                scripts.append((step["run"], env))
    return scripts


def gitlab_scripts() -> list[tuple[str, dict[str, str]]]:
    pipeline = load(GITLAB)
    env = pipeline.get("variables", {})
    scripts: list[tuple[str, dict[str, str]]] = []
    for job in pipeline.values():
        if not isinstance(job, dict):
            continue
        for key in ("before_script", "script", "after_script"):
            scripts.extend((line, env) for line in _flatten(job.get(key, [])))
    return scripts


def _flatten(lines: Any) -> list[str]:  # GitLab flattens script lists nested by anchors
    if isinstance(lines, str):
        return [lines]
    return [line for item in lines for line in _flatten(item)]


def shell_lines(script: str) -> list[str]:
    """The script's shell lines: continuations joined, here-document bodies left out."""
    lines: list[str] = []
    heredoc_end = None
    for line in script.replace("\\\n", " ").splitlines():
        if heredoc_end is not None:
            if line.strip() == heredoc_end:
                heredoc_end = None
            continue
        lines.append(line)
        opened = re.search(r"<<-?\s*'?(\w+)'?", line)
        if opened:
            heredoc_end = opened.group(1)
    return lines


def heredocs(script: str) -> list[tuple[str, str]]:
    """(delimiter, body) of each quoted here-document."""
    return re.findall(r"<<'(\w+)'[^\n]*\n(.*?)\n\1\n", script, flags=re.S)


COMMAND_START = {"if", "then", "else", "elif", "do", "while", "until", "!"}


def wanplan_commands(script: str, env: dict[str, str]) -> list[list[str]]:
    """Every `wanplan ...` command in a shell script, as arguments, variables expanded from
    `env` and redirections cut off."""
    commands = []
    for line in shell_lines(script):
        line = re.sub(r"(?<=\s)\d+(?=[<>])", "", line)  # 2> plan.err: a redirection
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        tokens = list(lexer)
        at_start = True
        for index, token in enumerate(tokens):
            if at_start and token == "wanplan":
                commands.append(_arguments(tokens[index + 1 :], env))
            is_operator = bool(token) and all(c in "();<>|&" for c in token)
            at_start = is_operator or token in COMMAND_START
    return commands


def _arguments(tokens: list[str], env: dict[str, str]) -> list[str]:
    arguments = []
    for token in tokens:
        if token and all(c in "();<>|&" for c in token):
            break
        arguments.append(re.sub(r"\$\{?(\w+)\}?", lambda m: str(env.get(m[1], m[0])), token))
    return arguments


def resolve(arguments: list[str]) -> list[str]:
    """Parse a command line with the real CLI without running it; returns the command path."""
    context = cli.make_context("wanplan", list(arguments), resilient_parsing=False)
    command: click.Command = cli
    path = []
    while isinstance(command, click.Group):
        # Click before 9 keeps the subcommand's name apart from the arguments after it.
        remaining = [*getattr(context, "_protected_args", []), *context.args]
        name, subcommand, rest = command.resolve_command(context, remaining)
        assert name is not None and subcommand is not None
        path.append(name)
        context = subcommand.make_context(name, rest, parent=context, resilient_parsing=False)
        command = subcommand
    return path


def command_lines() -> list[Any]:
    lines = []
    for label, scripts in (("github", github_scripts()), ("gitlab", gitlab_scripts())):
        for script, env in scripts:
            for arguments in wanplan_commands(script, env):
                lines.append(pytest.param(arguments, id=f"{label}: wanplan {' '.join(arguments)}"))
    return lines


def test_init_writes_the_ci_files_and_keeps_existing_ones(run: Run, tmp_path: Path) -> None:
    root = tmp_path / "new"
    root.mkdir()
    result = run(root, "init")
    assert result.exit_code == 0
    for destination in TEMPLATES:
        assert (root / destination).read_text("utf-8") == template(destination)
        assert f"created {destination}" in result.output
    (root / GITHUB).write_text("# my own workflow\n", "utf-8")
    again = run(root, "init")
    assert again.exit_code == 0
    assert (root / GITHUB).read_text("utf-8") == "# my own workflow\n"
    assert f"kept    {GITHUB}" in again.output and f"kept    {GITLAB}" in again.output


@pytest.mark.parametrize(
    ("choice", "written"),
    [("github", {GITHUB}), ("gitlab", {GITLAB}), ("none", set()), ("all", {GITHUB, GITLAB})],
)
def test_init_ci_picks_the_files(run: Run, tmp_path: Path, choice: str, written: set[str]) -> None:
    result = run(tmp_path, "init", "--ci", choice)
    assert result.exit_code == 0
    assert {d for d in TEMPLATES if (tmp_path / d).exists()} == written
    assert (tmp_path / "wanplan.toml").exists()


def test_github_workflow_plans_pull_requests_and_applies_main_one_at_a_time() -> None:
    workflow = load(GITHUB)
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert triggers["pull_request"]["branches"] == ["main"]
    assert triggers["push"]["branches"] == ["main"]
    assert workflow["permissions"] == {"contents": "read"}
    plan, apply = workflow["jobs"]["plan"], workflow["jobs"]["apply"]
    assert "pull_request" in plan["if"] and "push" in apply["if"]
    assert plan["permissions"]["pull-requests"] == "write"
    assert apply["permissions"]["contents"] == "write"
    assert apply["concurrency"]["group"].startswith("wanplan-apply")
    assert apply["concurrency"]["cancel-in-progress"] is False  # an apply is never cancelled
    # One plan per pull request: the newer push's plan wins, never an older one's comment.
    assert plan["concurrency"] == {
        "group": "wanplan-plan-${{ github.event.pull_request.number }}",
        "cancel-in-progress": True,
    }
    assert (plan["timeout-minutes"], apply["timeout-minutes"]) == (15, 60)  # not GitHub's 6 h
    assert apply["permissions"]["pull-requests"] == "write"  # the result on the merged PR
    assert workflow["defaults"] == {"run": {"shell": "bash"}}  # -o pipefail: `| tee` keeps codes
    # Pinned by major version.
    used = {step["uses"] for job in (plan, apply) for step in job["steps"] if "uses" in step}
    assert used == {
        "actions/checkout@v4",
        "actions/setup-python@v5",
        "actions/cache/restore@v4",
        "actions/cache/save@v4",
        "actions/upload-artifact@v4",
    }


def test_github_apply_restores_the_newest_cache_and_keeps_the_state_even_after_a_failure() -> None:
    steps = load(GITHUB)["jobs"]["apply"]["steps"]
    cache = next(s for s in steps if s.get("uses") == "actions/cache/restore@v4")["with"]
    assert ".wanplan" in cache["path"].split()
    assert "github.run_id" in cache["key"] and cache["key"].startswith(cache["restore-keys"])
    # Saved even after a failed or cancelled apply (actions/cache saves after success only):
    # what the run paid for must be in the next run's cache.
    save = next(s for s in steps if s.get("uses") == "actions/cache/save@v4")
    assert save["if"] == "always()"
    assert save["with"]["path"] == cache["path"] and save["with"]["key"] == cache["key"]
    apply_step = next(s for s in steps if "wanplan apply -y" in s.get("run", ""))
    assert steps.index(apply_step) < steps.index(save)
    # Also the plan job restores exactly this cache (same paths, same prefix).
    plan_steps = load(GITHUB)["jobs"]["plan"]["steps"]
    restore = next(s for s in plan_steps if s.get("uses") == "actions/cache/restore@v4")["with"]
    assert restore["path"] == cache["path"] and restore["restore-keys"] == cache["restore-keys"]
    commit = next(s for s in steps if "git push" in s.get("run", ""))
    assert commit["if"] == "always()"
    assert "git add state/wanplan.db" in commit["run"] and "[skip ci]" in commit["run"]
    assert "github-actions[bot]" in commit["run"]
    upload = next(s for s in steps if s.get("uses") == "actions/upload-artifact@v4")
    assert upload["with"]["path"] == "outputs/" and upload["if"] == "always()"


def test_github_plan_job_posts_the_comment_then_fails_on_the_gate() -> None:
    steps = load(GITHUB)["jobs"]["plan"]["steps"]
    names = [step.get("id") or step.get("uses") or step.get("name") for step in steps]
    comment = github_step("plan", "Post the plan as a comment")
    gate = next(s for s in steps if s.get("if") == "steps.plan.outputs.exit_code != '0'")
    assert names.index("plan") < steps.index(comment) < steps.index(gate)
    assert "exit_code=$code" in steps[names.index("plan")]["run"]
    assert 'exit "$PLAN_EXIT_CODE"' in gate["run"] and '"$PLAN_EXIT_CODE" = 4' in gate["run"]
    assert "head.repo.full_name == github.repository" in comment["if"]  # forks: skipped
    assert comment["continue-on-error"] is True  # Dependabot's token cannot write
    assert comment["env"]["GITHUB_TOKEN"] == "${{ github.token }}"


def test_github_gives_the_provider_keys_to_the_apply_job_only() -> None:
    """A pull request's plan runs code a stranger wrote: it must see no secret."""
    jobs = load(GITHUB)["jobs"]
    assert "secrets." not in json.dumps(jobs["plan"])
    assert "secrets.WAVESPEED_API_KEY" in json.dumps(jobs["apply"])


def test_gitlab_example_plans_merge_requests_and_applies_the_default_branch() -> None:
    pipeline = load(GITLAB)
    plan, apply = pipeline["wanplan:plan"], pipeline["wanplan:apply"]
    assert "merge_request_event" in plan["rules"][0]["if"]
    assert "$CI_DEFAULT_BRANCH" in apply["rules"][0]["if"]
    assert apply["resource_group"]
    assert pipeline[".wanplan"]["cache"]["paths"] == [".wanplan/", "outputs/"]
    assert plan["cache"]["policy"] == "pull" and apply["cache"]["when"] == "always"
    assert plan["interruptible"] is True and "interruptible" not in apply
    assert (plan["timeout"], apply["timeout"]) == ("15 minutes", "60 minutes")
    apply_script = "\n".join(_flatten(apply["script"]))
    assert "git add state/wanplan.db" in apply_script and "[skip ci]" in apply_script
    assert "for attempt in 1 2 3" in apply_script  # the push, retried
    assert _flatten(apply["after_script"])[0] in _flatten(apply["script"])
    assert apply["artifacts"] == {
        "when": "always",
        "paths": ["outputs/", "state/wanplan.db"],
        "expire_in": "30 days",
    }
    assert "local: .gitlab-ci.wanplan.yml" in template(GITLAB)
    plan_script = "\n".join(_flatten(plan["script"]))
    assert "wanplan comment --token-env WANPLAN_NOTE_TOKEN plan.md" in plan_script
    assert '--marker wanplan-apply --merged-commit "$CI_COMMIT_SHA"' in apply_script


@pytest.mark.parametrize("arguments", command_lines())
def test_every_wanplan_command_line_parses(arguments: list[str]) -> None:
    resolve(arguments)


def test_the_workflows_run_the_commands_they_promise() -> None:
    """Guards the test above against an extraction that finds nothing."""
    for scripts in (github_scripts(), gitlab_scripts()):
        commands = [c for script, env in scripts for c in wanplan_commands(script, env)]
        assert ["-C", "base", "plan", "--format", "json"] in commands
        assert [
            "plan",
            "--compare-to",
            "base.json",
            "--format",
            "markdown",
            "--fail-on-cost-increase",
            "5",
        ] in commands
        assert ["apply", "-y", "--max-cost", "20"] in commands


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_every_script_is_valid_shell_and_python() -> None:
    for script, _ in github_scripts() + gitlab_scripts():
        checked = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
        assert checked.returncode == 0, f"{checked.stderr}\n{script}"
        for _, body in heredocs(script + "\n"):
            compile(body, "heredoc", "exec")


def github_step(job: str, name: str) -> dict[str, Any]:
    steps = load(GITHUB)["jobs"][job]["steps"]
    return next(step for step in steps if step.get("name") == name)


def run_step(step: dict[str, Any], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Runs a step's script as GitHub does (bash -eo pipefail) with this virtualenv's wanplan."""
    variables = {
        **os.environ,
        **load(GITHUB)["env"],
        **step.get("env", {}),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        **env,
    }
    return bash(step["run"], cwd, variables)


def bash(script: str, cwd: Path, variables: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A CI step's script as GitHub and GitLab run it: bash -eo pipefail, no profile."""
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env=variables,
        capture_output=True,
        text=True,
        timeout=120,
    )


def outputs(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text("utf-8").splitlines())


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_github_plan_steps_comment_and_gate_a_pull_request(
    run: Run, project: Path, tmp_path: Path
) -> None:
    assert run(project, "apply", "-y").exit_code == 0  # main, applied
    head = tmp_path / "head"
    shutil.copytree(project, head)
    # A fresh checkout of main: no cache, no outputs (the workflow shares the restored ones).
    shutil.copytree(project, head / "base", ignore=shutil.ignore_patterns(".wanplan", "outputs"))
    spec = head / "specs" / "launch.toml"
    spec.write_text(spec.read_text("utf-8").replace("seed = 42", "seed = 43"), "utf-8")
    files = {"GITHUB_OUTPUT": str(tmp_path / "output"), "GITHUB_STEP_SUMMARY": str(tmp_path / "s")}

    assert run_step(github_step("plan", "Plan the base branch"), head, **files).returncode == 0
    base = json.loads((head / "base.json").read_text("utf-8"))
    assert base["changes"] == []  # its outputs were found through the shared ones
    planned = run_step(github_step("plan", "Plan this pull request"), head, **files)
    assert planned.returncode == 0, planned.stderr
    assert outputs(tmp_path / "output")["exit_code"] == "0"
    comment = (head / "plan.md").read_text("utf-8")
    assert comment.startswith(MARKER) and "forest-dolly" in comment
    assert comment in (tmp_path / "s").read_text("utf-8")  # the job summary, for forks

    gated = run_step(
        github_step("plan", "Plan this pull request"),
        head,
        WANPLAN_MAX_COST_INCREASE="0.01",
        **files,
    )
    assert gated.returncode == 0  # the step records the code; the comment is posted next
    code = outputs(tmp_path / "output")["exit_code"]
    assert code == "4" and (head / "plan.md").read_text("utf-8").startswith(MARKER)
    gate = github_step("plan", "Fail on a plan error or a cost increase over the gate")
    failed = run_step(gate, head, PLAN_EXIT_CODE=code)
    assert failed.returncode == 4 and "::error::This change costs more than $5" in failed.stdout


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_github_base_without_a_project_is_planned_without_comparison(
    project: Path, tmp_path: Path
) -> None:
    (project / "base").mkdir()  # the pull request that adds wanplan
    files = {"GITHUB_OUTPUT": str(tmp_path / "output"), "GITHUB_STEP_SUMMARY": str(tmp_path / "s")}
    assert run_step(github_step("plan", "Plan the base branch"), project, **files).returncode == 0
    assert not (project / "base.json").exists()
    planned = run_step(github_step("plan", "Plan this pull request"), project, **files)
    assert planned.returncode == 0 and outputs(tmp_path / "output")["exit_code"] == "0"
    assert "Plan: 6 to create" in (project / "plan.md").read_text("utf-8")


Git = Callable[..., str]


def pushed_checkout(project: Path, tmp_path: Path) -> tuple[Path, Git]:
    """The project as a checkout of main (two commits), pushed to a bare remote."""
    remote = tmp_path / "remote.git"

    def git(*args: str, cwd: Path = project) -> str:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
        return done.stdout

    git("init", "-q", "--bare", "-b", "main", str(remote), cwd=tmp_path)
    git("init", "-q", "-b", "main")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "x")
    git("add", "wanplan.toml", "specs", "inputs")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "specs")
    git("remote", "add", "origin", str(remote))
    git("push", "-q", "origin", "main")
    return remote, git


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_github_apply_commits_the_state_back_to_the_branch(
    run: Run, project: Path, tmp_path: Path
) -> None:
    remote, git = pushed_checkout(project, tmp_path)
    assert run(project, "apply", "-y").exit_code == 0

    step = github_step("apply", "Commit the state back")
    committed = run_step(step, project, GITHUB_REF_NAME="main")
    assert committed.returncode == 0, committed.stderr
    log = git("log", "-1", "--format=%an|%s", "main", cwd=remote)
    assert log.strip() == "github-actions[bot]|wanplan: state after apply [skip ci]"
    assert git("ls-tree", "--name-only", "main", "state/", cwd=remote).split() == [
        "state/wanplan.db"
    ]
    again = run_step(step, project, GITHUB_REF_NAME="main")  # nothing changed: no commit
    assert again.returncode == 0
    assert git("rev-list", "--count", "main", cwd=remote).strip() == "3"


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_github_apply_retries_the_push_and_keeps_the_state_when_it_cannot(
    run: Run, project: Path, tmp_path: Path
) -> None:
    remote, git = pushed_checkout(project, tmp_path)
    # The remote refuses the first push (as when another run pushed first), then takes one.
    hook = remote / "hooks" / "pre-receive"
    hook.write_text(
        f"#!/bin/sh\n[ -f {tmp_path}/refused ] && exit 0\ntouch {tmp_path}/refused\nexit 1\n"
    )
    hook.chmod(0o755)
    assert run(project, "apply", "-y").exit_code == 0
    step = github_step("apply", "Commit the state back")
    pushed = run_step(step, project, GITHUB_REF_NAME="main", WANPLAN_PUSH_PAUSE="0")
    assert pushed.returncode == 0, pushed.stderr
    assert git("ls-tree", "--name-only", "main", "state/", cwd=remote).split() == [
        "state/wanplan.db"
    ]

    hook.write_text("#!/bin/sh\nexit 1\n")  # now it refuses every push
    assert run(project, "apply", "-y", "--replace", "poster").exit_code == 0
    refused = run_step(step, project, GITHUB_REF_NAME="main", WANPLAN_PUSH_PAUSE="0")
    assert refused.returncode == 1
    assert "wanplan-state artifact" in refused.stdout + refused.stderr
    upload = [
        s
        for s in load(GITHUB)["jobs"]["apply"]["steps"]
        if s.get("with", {}).get("name") == "wanplan-state"
    ]
    assert upload and upload[0]["if"] == "always() && steps.state.outcome == 'failure'"
    assert upload[0]["with"]["path"] == "state/wanplan.db"


def github_run(url: str, tmp_path: Path, **env: str) -> dict[str, str]:
    """What GitHub Actions gives a step on a pull request of o/r, with the fake as its API."""
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 5, "head": {"sha": "a" * 40}}}))
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_API_URL": url,
        "GITHUB_REPOSITORY": "o/r",
        "GITHUB_SERVER_URL": "https://github.test",
        "GITHUB_RUN_ID": "77",
        "GITHUB_EVENT_PATH": str(event),
        **env,
    }


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_github_comment_step_keeps_one_comment_with_the_commit_and_the_run(
    tmp_path: Path,
) -> None:
    fake = FakeForge(actions_token=True)  # Actions' own token: /user is forbidden
    fake.add(5, "alice", f"> {MARKER} quoted by a reviewer")
    step = github_step("plan", "Post the plan as a comment")
    with serving(fake) as url:
        variables = github_run(url, tmp_path, PLAN_EXIT_CODE="0")
        for plan in ("an older plan", "the newest plan"):
            (tmp_path / "plan.md").write_text(f"{MARKER}\n### {plan}\n", "utf-8")
            posted = run_step(step, tmp_path, **variables)
            assert posted.returncode == 0, posted.stderr
            assert TOKEN not in posted.stdout + posted.stderr
        (ours,) = [c for c in fake.comments[5] if c["user"]["login"] == "github-actions[bot]"]
        assert ours["body"].startswith(f"{MARKER}\n### the newest plan\n")
        assert f"commit {'a' * 40}" in ours["body"]  # the pull request's head
        assert "[CI run](https://github.test/o/r/actions/runs/77)" in ours["body"]

        (tmp_path / "plan.md").write_text("", "utf-8")  # the plan failed before printing
        (tmp_path / "plan.err").write_text("error: specs/a.toml:3: assets.x.sed: unknown field\n")
        failed = run_step(step, tmp_path, **{**variables, "PLAN_EXIT_CODE": "1"})
        assert failed.returncode == 0, failed.stderr
    assert len(fake.comments[5]) == 2 and fake.comments[5][0]["user"]["login"] == "alice"
    body = fake.comments[5][1]["body"]
    assert body.startswith(f"{MARKER}\n### wanplan plan failed (exit 1)\n")
    assert "assets.x.sed: unknown field" in body


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_github_apply_keeps_its_exit_code_and_comments_on_the_merged_pull_request(
    project: Path, tmp_path: Path
) -> None:
    applied = run_step(
        github_step("apply", "Apply within the budget"), project, WANPLAN_MAX_COST="0.01"
    )
    assert applied.returncode == 4  # over the budget: tee does not hide it
    log = (project / "apply.log").read_text("utf-8")
    assert "budget" in log or "max-cost" in log, log

    fake = FakeForge(actions_token=True)
    plan = fake.add(5, "github-actions[bot]", f"{MARKER}\nthe reviewed plan")
    fake.merged["b" * 40] = 5
    step = github_step("apply", "Comment the result on the merged pull request")
    with serving(fake) as url:
        variables = github_run(url, tmp_path, GITHUB_SHA="b" * 40, APPLY_OUTCOME="failure")
        commented = run_step(step, project, **variables, STATE_OUTCOME="failure")
        assert commented.returncode == 0, commented.stderr
        direct = run_step(step, project, **{**variables, "GITHUB_SHA": "c" * 40})
        assert "nothing was posted" in direct.stdout  # a push no pull request merged
    first, result = fake.comments[5]
    assert first["id"] == plan and first["body"] == f"{MARKER}\nthe reviewed plan"
    assert result["body"].startswith(
        "<!-- wanplan-apply -->\n### wanplan apply: failure, but the state was NOT pushed"
    )
    assert log.strip().splitlines()[-1] in result["body"] and f"commit {'b' * 40}" in result["body"]


def test_gitlab_commits_the_state_once_per_job(tmp_path: Path) -> None:
    """after_script repeats the state commit only when the script never reached it: a push
    that failed in the script is not retried (and waited for) a second time."""
    apply = load(GITLAB)["wanplan:apply"]
    (step,) = _flatten(apply["after_script"])
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    for tool in ("wanplan", "git"):
        stub = bin_dir / tool
        stub.write_text(f'#!/bin/sh\necho "{tool} $*" >> {calls}\n')
        stub.chmod(0o755)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "CI_JOB_ID": f"test-{os.getpid()}"}
    try:
        for _ in range(2):  # the script's run, then after_script's
            subprocess.run(["bash", "-c", step], cwd=tmp_path, env=env, check=True)
    finally:
        Path(f"/tmp/wanplan-state-{env['CI_JOB_ID']}").unlink(missing_ok=True)
    assert calls.read_text().splitlines().count("wanplan force-unlock --if-dead") == 1
