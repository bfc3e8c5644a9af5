"""The `wanplan` command group and the one place errors become exit codes.

Exit codes: 0 success; 1 a user-facing error or a usage error (nothing half-done); 2
`plan --detailed-exitcode` found changes; 3 a bug in wanplan (details in .wanplan/crash.log);
4 over a budget cap or a cost gate (nothing was spent); 130 interrupted.
"""

from __future__ import annotations

import datetime
import os
import sys
import traceback
from pathlib import Path
from typing import Any, NoReturn

import click

from wanplan import __version__
from wanplan.cli.commands import COMMANDS
from wanplan.cli.output import error
from wanplan.errors import EXIT_INTERRUPTED, USER_SIDE_ERRNOS, os_advice, printable

EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_BUG = 3
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as a shell reports a pipe reader that stopped early


def _exit_as_error(exc: click.UsageError) -> click.UsageError:
    """Exit 1, not click's 2: 2 is `plan --detailed-exitcode`'s "there are changes", and a
    mistyped option in CI must not read as that. Click's own message stays."""
    exc.exit_code = EXIT_ERROR  # type: ignore[misc]  # click reads it per instance
    return exc


class WanplanGroup(click.Group):
    """Maps every failure to its exit code, once, for every command."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:  # the group's own options (a subcommand's are parsed inside invoke)
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:
            raise _exit_as_error(exc) from None

    def invoke(self, ctx: click.Context) -> object:
        from wanplan.errors import WanplanError

        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            raise _exit_as_error(exc) from None
        except (click.exceptions.Exit, click.ClickException):
            raise
        except click.exceptions.Abort:  # Ctrl-C at a prompt
            error("interrupted; nothing was changed")
            ctx.exit(EXIT_INTERRUPTED)
        except WanplanError as exc:
            error(str(exc))
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            error("interrupted")
            ctx.exit(EXIT_INTERRUPTED)
        except BrokenPipeError:
            # The reader went away (`wanplan models | head`): not a bug, nothing to report.
            # Python would complain again when flushing stdout at exit; point it at devnull.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(EXIT_BROKEN_PIPE)
        except OSError as exc:
            root = ctx.obj if isinstance(ctx.obj, Path) else Path(".")
            if exc.errno not in USER_SIDE_ERRNOS:
                _crash(ctx, root)
            # The user's side: a read-only folder, a full disk, a permission. One line.
            error(_os_error_line(exc, root))
            ctx.exit(1)
        except Exception:
            _crash(ctx, ctx.obj if isinstance(ctx.obj, Path) else Path("."))


def _crash(ctx: click.Context, root: Path) -> NoReturn:
    log = _write_crash_log(root)
    error(f"wanplan crashed; this is a bug. Details: {log}")
    ctx.exit(EXIT_BUG)


@click.group(
    cls=WanplanGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="wanplan")
@click.option(
    "-C",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    help="Run as if started in DIR (the project root).",
    metavar="DIR",
)
@click.pass_context
def cli(ctx: click.Context, directory: Path) -> None:
    """Plan and apply generated video and images from the Wan models.

    Assets are declared in specs/*.toml; `plan` shows what would be generated, reused or
    deleted and what it would cost; `apply` does exactly that.

    \b
    Example:
      wanplan plan
      wanplan apply -y
    """
    if not directory.is_dir():
        raise click.BadParameter(f"{directory} is not a directory", param_hint="-C")
    ctx.obj = directory


for command in COMMANDS:
    cli.add_command(command)


def main() -> None:
    cli(prog_name="wanplan")


def _os_error_line(exc: OSError, root: Path) -> str:
    """`<path>: <what>; <what to do>`, the path relative to the project where it is inside."""
    where = ""
    if exc.filename is not None:
        path = Path(os.fsdecode(exc.filename))
        try:
            where = path.resolve().relative_to(root.resolve()).as_posix()
        except (ValueError, OSError, RuntimeError):
            where = str(path)
        where = f"{printable(where)}: "
    return f"{where}{exc.strerror or type(exc).__name__}; {os_advice(exc)}"


def _write_crash_log(root: Path) -> str:
    try:
        directory = root / ".wanplan"
        if directory.is_symlink():  # never written through a link (confine.py)
            return "(no crash log: .wanplan is a link)"
        directory.mkdir(exist_ok=True)
        path = directory / "crash.log"
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        with os.fdopen(os.open(path, flags, 0o644), "a", encoding="utf-8") as log:
            stamp = datetime.datetime.now().isoformat()
            log.write(f"--- {stamp} wanplan {__version__} pid {os.getpid()}\n")
            log.write(traceback.format_exc())
        return str(path)
    except OSError:
        return "(no crash log: .wanplan is not writable)"
