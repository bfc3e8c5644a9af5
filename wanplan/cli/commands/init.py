from __future__ import annotations

from pathlib import Path

import click

from wanplan.cli.options import open_project
from wanplan.cli.output import echo, style

CI_CHOICES = {"all": ("github", "gitlab"), "github": ("github",), "gitlab": ("gitlab",), "none": ()}
BACKENDS = ("sqlite", "postgres")  # scaffold.project_files.SCAFFOLDS, imported only when used
NEXT = {
    "sqlite": "Next: `wanplan plan` to see what would be generated, then `wanplan apply`.",
    "postgres": "Next: export WANPLAN_STATE_URL and WANPLAN_CACHE_URL (wanplan.toml says how), "
    "then `wanplan plan`.",
}
SECRETS = {
    "sqlite": "CI: add your providers' API keys as CI secrets; the top of each CI file says how.",
    "postgres": "CI: add the database's and the bucket's URLs, passwords and credentials, and your "
    "providers' API keys, as CI secrets; the top of each CI file names them.",
}


@click.command()
@click.option(
    "--ci",
    type=click.Choice(list(CI_CHOICES)),
    default="all",
    show_default=True,
    help="CI files to write: a GitHub Actions workflow, a GitLab CI example, both or none.",
)
@click.option(
    "--backend",
    type=click.Choice(BACKENDS),
    default="sqlite",
    show_default=True,
    help="Where the state lives: an SQLite file that CI commits back to git (one person), or "
    "PostgreSQL with an S3-compatible cache, from CI secrets (a team: `pip install "
    "'wanplan[team]'`).",
)
@click.pass_obj
def init(directory: Path, ci: str, backend: str) -> None:
    """Create a wanplan project here: settings, an example spec, an input, .gitignore and CI.

    The CI files plan every pull request (the cost as one comment, a gate on cost increases)
    and apply the main branch within a budget: .github/workflows/wanplan.yml and
    .gitlab-ci.wanplan.yml. Files that already exist are kept as they are. With --backend
    postgres, the state is in PostgreSQL and the blobs in a bucket, from CI secrets: pull
    requests plan with a read-only role and applies run side by side, committing nothing back.

    \b
    Examples:
      mkdir clips && cd clips && wanplan init && wanplan plan
      wanplan init --ci github
      wanplan init --backend postgres
    """
    from wanplan.scaffold.project_files import init_project

    project = open_project(directory)
    result = init_project(project.root, ci=CI_CHOICES[ci], backend=backend)
    for path in result.written:
        echo(f"  {style('created', fg='green')} {path}")
    for path in result.kept:
        echo(f"  kept    {path}")
    echo("")
    echo(NEXT[backend])
    if CI_CHOICES[ci]:
        echo(SECRETS[backend])
