"""The exceptions wanplan raises on purpose.

    WanplanError            any failure a user can act on; the CLI prints it as one line, exit 1
    ├── SpecError           specs or wanplan.toml are invalid (one SpecIssue per line)
    │   └── SettingsError   wanplan.toml is invalid
    ├── StateError          the state database is unreadable, locked or from a newer wanplan
    │   └── StateWriteError the state cannot be written (disk full, read-only): no more submits
    ├── PlanError           a plan cannot be made (unknown --target, stale plan file)
    ├── ApplyRefused        apply stopped before spending (no confirmation, no terminal)
    ├── OverBudget          a budget cap or a cost gate refused the plan: exit 4
    └── ProviderError       a provider refused or failed; mapped once at the provider boundary
        └── ProviderAuthError   401/402/403: stops every further submit, names the key variable

Anything else reaching the CLI is a bug in wanplan: exit 3 with a crash log.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass

from wanplan.spec.suggest import first_few


def printable(text: str) -> str:
    """`text` with control and invisible characters escaped (a CR, an ANSI escape, a
    right-to-left override): a name or a provider's message cannot rewrite a terminal line or
    hide what an error says."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


EXIT_INTERRUPTED = 130
"""Ctrl-C (or SIGTERM): what the CLI and a second Ctrl-C's immediate exit both return."""


class WanplanError(Exception):
    """A failure the user can act on. `str()` is the whole message."""

    exit_code = 1


@dataclass(frozen=True)
class SpecIssue:
    """One problem in a specs file, located as precisely as the file allows."""

    file: str
    line: int | None
    field: str
    message: str
    asset: str | None = None
    """The asset it concerns."""
    shared: bool = False
    """The line is shared by several assets ([defaults], a profile): the text names the asset."""

    def __str__(self) -> str:
        return self.text([self])

    def text(self, alike: list[SpecIssue]) -> str:
        """The issue, naming the assets of `alike` (every issue of its kind, itself first):
        those that share its line, or the others with their own lines."""
        where = f"{self.file}:{self.line}" if self.line else self.file
        field = f"{self.field}: " if self.field else ""
        about = ""
        if self.shared:
            names = list(dict.fromkeys(i.asset for i in alike if i.asset))
            about = f" (for {first_few(names, 3)})" if names else ""
        elif len(alike) > 1:
            others = [f"{i.asset} (line {i.line})" if i.line else str(i.asset) for i in alike[1:]]
            about = f" (also in {first_few(others, 3)})"
        return printable(f"{where}: {field}{self.message}{about}")

    @property
    def kind(self) -> tuple[str, str, str]:
        """What makes two issues one mistake: the same message about the same field of the
        same file ([defaults] line, or each asset's own)."""
        field = self.field
        if self.asset and not self.shared:
            field = field.replace(f"assets.{self.asset}.", "assets.*.", 1)
        return self.file, field, self.message


MAX_SHOWN_ISSUES = 200
"""A file with 200,000 mistakes prints the first ones and a count, not 200,000 lines."""


class SpecError(WanplanError):
    def __init__(self, issues: list[SpecIssue]) -> None:
        unique = dict.fromkeys(issues)
        # Settings first: a mistake there can cause the others.
        self.issues = sorted(
            unique,
            key=lambda i: (i.file != "wanplan.toml", i.file, i.line or 0, i.field, i.asset or ""),
        )
        # One mistake found in many assets (a [defaults] value, a field they all lack) is one
        # line, naming the assets, at the first one's place.
        groups: dict[tuple[str, str, str], list[SpecIssue]] = {}
        for issue in self.issues:
            groups.setdefault(issue.kind, []).append(issue)
        lines = [alike[0].text(alike) for alike in groups.values()]
        shown = lines[:MAX_SHOWN_ISSUES]
        if len(lines) > MAX_SHOWN_ISSUES:
            shown.append(f"… and {len(lines) - MAX_SHOWN_ISSUES} more problems")
        super().__init__("\n".join(shown))


class SettingsError(SpecError):
    """wanplan.toml is invalid. `usable`: the settings without the invalid ones (their
    defaults instead), for finding the specs' problems in the same run; None when even those
    cannot be had."""

    def __init__(self, issues: list[SpecIssue], usable: object | None) -> None:
        super().__init__(issues)
        self.usable = usable


class StateError(WanplanError):
    pass


class StateWriteError(StateError):
    """A write to the state failed (disk full, read-only, I/O error). Apply sends no further
    submit: a task id it could not record would be paid for and then forgotten."""


class PlanError(WanplanError):
    pass


class ApplyRefused(WanplanError):
    pass


class OverBudget(WanplanError):
    """Over a budget cap (apply, before any request) or a cost gate (plan in CI)."""

    exit_code = 4


class ProviderError(WanplanError):
    def __init__(
        self,
        provider: str,
        message: str,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        self.provider = provider
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status
        # Its text comes from the provider's answer: escaped here, once, for every place it
        # is shown (the live view, the event log, the summary, the journal's note).
        super().__init__(f"{provider}: {printable(message)}")


class InputNotSent(ProviderError):
    """The request's input files could not be read or sent (uploaded, or encoded into the
    request): the submit never went, so no task exists, and trying again pays nothing twice."""


class ProviderAuthError(ProviderError):
    def __init__(self, provider: str, message: str, key_env: str | None) -> None:
        self.key_env = key_env
        hint = f"; check the key in {key_env}" if key_env else ""
        super().__init__(provider, f"{message}{hint}", status=None)


_OS_ADVICE = {
    errno.ENOSPC: "free some space and run it again",
    errno.EDQUOT: "free some space and run it again",
    errno.EROFS: "the disk is read-only; run it where it can write",
    errno.EACCES: "check the permissions of that path",
    errno.EPERM: "check the permissions of that path",
}
USER_SIDE_ERRNOS = frozenset(_OS_ADVICE)
"""OSErrors that are the machine's state, not wanplan's bug: shown as one line."""


def os_advice(exc: OSError) -> str:
    return _OS_ADVICE.get(exc.errno or 0, "check that path and run it again")
