from __future__ import annotations

from pathlib import Path

import click

from wanplan.cli.options import open_project
from wanplan.cli.output import echo, style

CI_CHOICES = {"all": ("github", "gitlab"), "github": ("github",), "gitlab": ("gitlab",), "none": ()}


@click.command()
@click.option(
    "--ci",
    type=click.Choice(list(CI_CHOICES)),
    default="all",
    show_default=True,
    help="CI files to write: a GitHub Actions workflow, a GitLab CI example, both or none.",
)
@click.pass_obj
def init(directory: Path, ci: str) -> None:
    """Create a wanplan project here: settings, an example spec, an input, .gitignore and CI.

    The CI files plan every pull request (the cost as one comment, a gate on cost increases)
    and apply the main branch within a budget: .github/workflows/wanplan.yml and
    .gitlab-ci.wanplan.yml. Files that already exist are kept as they are.

    \b
    Examples:
      mkdir clips && cd clips && wanplan init && wanplan plan
      wanplan init --ci github
    """
    from wanplan.scaffold.project_files import init_project

    project = open_project(directory)
    result = init_project(project.root, ci=CI_CHOICES[ci])
    for path in result.written:
        echo(f"  {style('created', fg='green')} {path}")
    for path in result.kept:
        echo(f"  kept    {path}")
    echo("")
    echo("Next: `wanplan plan` to see what would be generated, then `wanplan apply`.")
    if CI_CHOICES[ci]:
        echo("CI: add your providers' API keys as CI secrets; the top of each CI file says how.")
