"""The house's rules, checked from the code: the CLI only parses and renders, and one module
chooses the backends (README, "Layout")."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "wanplan"
CONCRETE_BACKENDS = re.compile(r"\b(SqliteState|SqliteStore|LocalBlobStore|sqlite3|sqlite_utils)\b")
CONSTRUCTED = re.compile(r"\b(SqliteStore|LocalBlobStore)\(|\bSqliteState\.open_(reader|writer)\(")
BACKEND_HOMES = ("state", "blobs")


def modules(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def test_no_cli_module_names_a_concrete_backend() -> None:
    named = [
        f"{path.relative_to(PACKAGE)}: {match.group(0)}"
        for path in modules(PACKAGE / "cli")
        for match in CONCRETE_BACKENDS.finditer(path.read_text())
    ]
    assert named == []


def test_concrete_backends_are_constructed_in_one_module() -> None:
    places = {
        path.relative_to(PACKAGE).as_posix()
        for path in modules(PACKAGE)
        if path.relative_to(PACKAGE).parts[0] not in BACKEND_HOMES
        and CONSTRUCTED.search(path.read_text())
    }
    assert places == {"backends.py"}


def test_no_cli_function_is_over_60_lines() -> None:
    long = []
    for path in modules(PACKAGE / "cli"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                assert node.end_lineno is not None
                lines = node.end_lineno - node.lineno + 1
                if lines > 60:
                    long.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name}: {lines}")
    assert long == []
