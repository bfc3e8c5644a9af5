"""Read every specs/**/*.toml into validated AssetSpec models, or fail with every issue found."""

from __future__ import annotations

import math
import os
import re
import typing
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import tomli
from pydantic import TypeAdapter, ValidationError

from wanplan import confine
from wanplan.errors import SpecError, SpecIssue
from wanplan.spec import matrix, values
from wanplan.spec.locate import locate
from wanplan.spec.model import (
    ASSET_FIELDS,
    MAX_NAME_LENGTH,
    NAME_PATTERN,
    SPEC_FORMAT_VERSION,
    TOP_LEVEL_KEYS,
    AssetSpec,
    DefaultsSpec,
    Mode,
)
from wanplan.spec.suggest import did_you_mean, listing, show

SPECS_DIR = "specs"
MAX_ASSETS_PER_FILE = 50_000
"""Counted as matrices expand, before they are built: a small file cannot make millions."""
MAX_ASSETS = 250_000
_ASSETS = TypeAdapter(dict[str, AssetSpec])
_DEFAULTS = TypeAdapter(DefaultsSpec)


class DeclaredAsset(NamedTuple):
    address: str
    file: str
    spec: AssetSpec
    own_fields: Collection[str]
    """Fields set on the asset itself rather than inherited from [defaults]."""
    table: str | None = None
    """The [assets.NAME] table that declares it, when that is not its address (a matrix)."""
    varied: frozenset[str] = frozenset()
    """The fields its matrix varies."""
    dropped: frozenset[str] = frozenset()
    """Fields left out because they failed the schema (reported already): the rest is still
    checked, so one wrong field does not hide the asset's other mistakes."""


@dataclass
class SpecSet:
    assets: list[DeclaredAsset]
    """The assets that passed the schema (every one, unless `issues`)."""
    texts: dict[str, str]
    """Each file's text by relative path, kept to locate later errors by line."""
    defaults: dict[str, frozenset[str]] = field(default_factory=dict)
    """The fields each file's [defaults] sets."""
    issues: list[SpecIssue] = field(default_factory=list)
    """Problems found reading the files (collected with `load_specs(..., collect=True)`)."""
    broken: set[str] = field(default_factory=set)
    """Addresses declared but left out of `assets` for problems of their own."""
    unreadable: list[str] = field(default_factory=list)
    """Files that could not be read or parsed: what they declare is not known."""

    def issue(self, asset: DeclaredAsset, field: str, message: str) -> SpecIssue:
        """An issue about `field` of `asset`, at the line that set it: the asset's, or its
        file's [defaults] when the value came from there (naming the asset)."""
        text = self.texts.get(asset.file, "")
        if field and field not in asset.own_fields and field in self.defaults.get(asset.file, ()):
            line = locate(text, ("defaults", field))
            return SpecIssue(asset.file, line, f"defaults.{field}", message, asset.address, True)
        if asset.table is not None:  # a matrix member: its table's lines, one line for all
            if field in asset.varied:
                varied = ("assets", asset.table, "matrix", field)
                return SpecIssue(
                    asset.file,
                    locate(text, varied),
                    ".".join(varied),
                    f"{message} (in {asset.address})",
                )
            path = ("assets", asset.table, *([field] if field else []))
            return SpecIssue(asset.file, locate(text, path), ".".join(path), message)
        path = ("assets", asset.address, *([field] if field else []))
        return SpecIssue(asset.file, locate(text, path), ".".join(path), message, asset.address)


def spec_files(root: Path) -> list[Path]:
    """Every specs/**/*.toml, in order. Folders linked within the project are followed (once
    each); a link that leads out of it, or loops, is listed as it is, so that reading it
    reports it (confine.py) instead of its being skipped in silence."""
    found: list[Path] = []
    visited: set[Path] = set()
    project = root.resolve()

    def walk(folder: Path) -> None:
        try:
            real = folder.resolve()
        except (OSError, RuntimeError):
            found.append(folder)
            return
        if not real.is_relative_to(project):
            found.append(folder)
            return
        if real in visited:
            return
        visited.add(real)
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError:
            found.append(folder)
            return
        for entry in entries:
            path = folder / entry.name
            try:
                is_folder = entry.is_dir()
            except OSError:
                is_folder = False
            if is_folder:
                walk(path)
            elif entry.name.endswith(".toml"):
                found.append(path)

    walk(root / SPECS_DIR)
    return sorted(found)


def load_specs(root: Path, *, collect: bool = False) -> SpecSet:
    """Every asset of specs/. Problems raise SpecError, all of them at once; with `collect`,
    they are returned in `SpecSet.issues` with the assets that have none, so that later stages
    can add theirs."""
    if not (root / SPECS_DIR).is_dir():
        # Reading "no assets" here would plan to delete every output: refuse instead.
        raise SpecError(
            [
                SpecIssue(
                    SPECS_DIR,
                    None,
                    "",
                    f"no {SPECS_DIR}/ folder in {root}; is this the project root "
                    "(-C DIR)? `wanplan init` makes one",
                )
            ]
        )
    issues: list[SpecIssue] = []
    assets: list[DeclaredAsset] = []
    texts: dict[str, str] = {}
    defaults: dict[str, frozenset[str]] = {}
    broken: set[str] = set()
    unreadable: list[str] = []
    first_seen: dict[str, str] = {}
    for path in spec_files(root):
        relative = path.relative_to(root).as_posix()
        loaded = _load_file(root, path, relative, issues)
        file_assets, text = loaded.assets, loaded.text
        texts[relative], defaults[relative] = text, loaded.defaults
        broken |= loaded.broken
        if loaded.unreadable:
            unreadable.append(relative)
        if len(assets) + len(file_assets) > MAX_ASSETS:
            raise SpecError(
                [
                    *issues,
                    SpecIssue(
                        relative,
                        None,
                        "",
                        f"the specs declare more than {MAX_ASSETS:,} assets, more than wanplan "
                        "plans at once; split the project",
                    ),
                ]
            )
        for asset in file_assets:
            if asset.address in first_seen:
                # Lines are looked up only here, on error: locating costs a scan of the file.
                where = first_seen[asset.address]
                line = locate(texts[where], ("assets", asset.address))
                issues.append(
                    SpecIssue(
                        relative,
                        locate(text, ("assets", asset.address)),
                        f"assets.{asset.address}",
                        f"duplicate asset name; first declared at {where}:{line or '?'}; "
                        "rename one of them",
                    )
                )
                continue
            first_seen[asset.address] = relative
            assets.append(asset)
    if issues and not collect:
        raise SpecError(issues)
    return SpecSet(assets, texts, defaults, issues, broken - first_seen.keys(), unreadable)


def read_toml(root: Path, path: Path, relative: str) -> tuple[dict[str, Any], str]:
    """A specs or settings file, read within the project's confinement (confine.py) and
    parsed; every value checked for what a content key can hold. Raises SpecError."""
    try:
        text = confine.read_bytes(root, path).decode("utf-8")
    except confine.Confined as exc:
        raise SpecError([SpecIssue(relative, None, "", str(exc))]) from None
    except UnicodeDecodeError as exc:
        raise SpecError(
            [SpecIssue(relative, None, "", f"not UTF-8 text ({exc.reason}); save it as UTF-8")]
        ) from None
    try:
        document = tomli.loads(text)
    except tomli.TOMLDecodeError as exc:
        raise SpecError([toml_issue(relative, exc)]) from None
    except RecursionError:  # tomli's own limit: inline tables or arrays 400 levels deep
        raise SpecError([_too_deep(relative, text)]) from None
    found = values.first_unkeyable(document)
    if found is not None:
        where, problem = found
        line = next(filter(None, (locate(text, where[:n]) for n in range(len(where), 0, -1))), None)
        raise SpecError([SpecIssue(relative, line or _deep_line(text), ".".join(where), problem)])
    return document, text


def _too_deep(relative: str, text: str) -> SpecIssue:
    return SpecIssue(
        relative,
        _deep_line(text),
        "",
        f"nested more than {values.MAX_DEPTH} levels deep; flatten it",
    )


def _deep_line(text: str) -> int | None:
    """The line where brackets first nest past MAX_DEPTH (strings skipped roughly)."""
    depth, line, quote = 0, 1, ""
    for char in text:
        if char == "\n":
            line += 1
        elif quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
            if depth > values.MAX_DEPTH:
                return line
        elif char in "]}":
            depth = max(depth - 1, 0)
    return None


class _Loaded(NamedTuple):
    assets: list[DeclaredAsset]
    text: str
    defaults: frozenset[str] = frozenset()
    broken: frozenset[str] = frozenset()
    """The asset tables left out for problems of their own."""
    unreadable: bool = False


def _load_file(root: Path, path: Path, relative: str, issues: list[SpecIssue]) -> _Loaded:
    """The file's assets that have no problem; the problems go to `issues`."""
    try:
        document, text = read_toml(root, path, relative)
    except SpecError as exc:
        issues.extend(exc.issues)
        return _Loaded([], "", unreadable=True)

    found = len(issues)
    for key in document:
        if key not in TOP_LEVEL_KEYS:
            issues.append(
                SpecIssue(
                    relative,
                    locate(text, (key,)),
                    key,
                    f"unknown top-level key{did_you_mean(key, TOP_LEVEL_KEYS)}; "
                    f"a specs file holds {listing(TOP_LEVEL_KEYS)}",
                )
            )
    version = document.get("version", SPEC_FORMAT_VERSION)
    if version != SPEC_FORMAT_VERSION:
        issues.append(
            SpecIssue(
                relative,
                locate(text, ("version",)),
                "version",
                f"spec format {show(version)} is not supported; this wanplan reads version "
                f"{SPEC_FORMAT_VERSION}",
            )
        )
    defaults = document.get("defaults", {})
    raw_assets = document.get("assets", {})
    for key, value, label in (
        ("defaults", defaults, "[defaults]"),
        ("assets", raw_assets, "[assets]"),
    ):
        if not isinstance(value, dict):
            issues.append(
                SpecIssue(relative, locate(text, (key,)), key, f"must be a table {label}")
            )
    if len(issues) > found:
        return _Loaded([], text, broken=_names(raw_assets))
    inherited = frozenset(defaults)

    if len(raw_assets) > MAX_ASSETS_PER_FILE:
        issues.append(
            SpecIssue(
                relative,
                None,
                "assets",
                f"the file declares more than {MAX_ASSETS_PER_FILE:,} assets; split it",
            )
        )
        return _Loaded([], text, inherited, _names(raw_assets))
    issues.extend(_defaults_issues(relative, text, defaults))
    merged: dict[str, dict[str, Any]] = {}
    tables: dict[str, str] = {}
    """A matrix member's address -> the asset table that declares it."""
    broken = False
    for name, raw in raw_assets.items():
        problem = _name_problem(name)
        if problem:
            issues.append(
                SpecIssue(relative, locate(text, ("assets", name)), f"assets.{name}", problem)
            )
            continue
        if not isinstance(raw, dict):
            issues.append(
                SpecIssue(
                    relative,
                    locate(text, ("assets", name)),
                    f"assets.{name}",
                    f"must be a table, e.g. [assets.{name}] with mode and prompt",
                )
            )
            continue
        if "matrix" in raw:
            members, problem = matrix.expand(name, raw)
            if problem:
                where = ("assets", name, "matrix")
                issues.append(SpecIssue(relative, locate(text, where), ".".join(where), problem))
                broken = True
            if len(merged) + len(members) > MAX_ASSETS_PER_FILE:
                issues.append(
                    SpecIssue(
                        relative,
                        locate(text, ("assets", name)),
                        f"assets.{name}",
                        f"the file declares more than {MAX_ASSETS_PER_FILE:,} assets; split it",
                    )
                )
                return _Loaded([], text, inherited, _names(raw_assets))
            for address, member in members:
                if address in raw_assets or address in merged:
                    where = ("assets", name, "matrix")
                    issues.append(
                        SpecIssue(
                            relative,
                            locate(text, where),
                            ".".join(where),
                            f"makes {address}, which is declared already; rename one",
                        )
                    )
                    broken = True
                    break
                merged[address] = _merge(defaults, member)
                tables[address] = name
            continue
        merged[name] = _merge(defaults, raw)
    if broken:
        return _Loaded([], text, inherited, _names(raw_assets))
    failed: set[str]
    try:
        validated = _ASSETS.validate_python(merged)
    except ValidationError as exc:
        failed = set()
        wrong: dict[str, set[str]] = {}
        whole: set[str] = set()
        for error in exc.errors():
            name, *rest = error["loc"]
            failed.add(str(name))
            if rest:
                wrong.setdefault(str(name), set()).add(str(rest[0]))
            else:
                whole.add(str(name))
            field = str(rest[0]) if rest else ""
            table = tables.get(str(name), str(name))
            raw = raw_assets[table]
            if field and field not in raw and field in defaults:
                location: tuple[str, ...] = ("defaults", field, *map(str, rest[1:]))
            elif field in (raw.get("matrix") or {}):
                location = ("assets", table, "matrix", field)
            else:
                location = ("assets", table, *map(str, rest))
            issues.append(
                SpecIssue(
                    relative,
                    locate(text, location),
                    ".".join(location),
                    _describe(error),
                    None if str(name) in tables else str(name),  # a matrix: its table says
                    location[0] == "defaults",
                )
            )
        # The others are valid: they go on to be resolved, so every problem shows at once.
        validated = _ASSETS.validate_python({k: v for k, v in merged.items() if k not in failed})
        # So does the rest of a failed asset, without its wrong fields, where it holds together
        # and what is left still names its model (else the defaults would stand in for it, and
        # the checks against them would be about a model nobody asked for).
        for name in sorted(failed - whole):
            if wrong[name] & _NAMING_THE_MODEL:
                continue
            rest_of = {k: v for k, v in merged[name].items() if k not in wrong[name]}
            try:
                validated.update(_ASSETS.validate_python({name: rest_of}))
            except ValidationError:
                continue
            failed.discard(name)
    else:
        failed = set()
        wrong = {}
    declared = []
    for name, spec in validated.items():
        origin = tables.get(name)
        dropped = frozenset(wrong.get(name, ()))
        if origin is None:
            own_fields = raw_assets[name].keys()
            declared.append(DeclaredAsset(name, relative, spec, own_fields, dropped=dropped))
        else:
            varied = frozenset(raw_assets[origin]["matrix"])
            own = {*raw_assets[origin], *varied} - {"matrix"}
            declared.append(DeclaredAsset(name, relative, spec, own, origin, varied, dropped))
    return _Loaded(declared, text, inherited, frozenset(failed))


_NAMING_THE_MODEL = frozenset({"provider", "model", "model_id", "mode"})


def _names(raw_assets: Any) -> frozenset[str]:
    return frozenset(raw_assets) if isinstance(raw_assets, dict) else frozenset()


def _merge(defaults: dict[str, Any], asset: dict[str, Any]) -> dict[str, Any]:
    merged = {**defaults, **asset}
    if isinstance(defaults.get("params"), dict) and isinstance(asset.get("params"), dict):
        merged["params"] = {**defaults["params"], **asset["params"]}
    return merged


def _defaults_issues(relative: str, text: str, defaults: dict[str, Any]) -> list[SpecIssue]:
    try:
        _DEFAULTS.validate_python(defaults)
    except ValidationError as exc:
        return [
            SpecIssue(
                relative,
                locate(text, ("defaults", *map(str, e["loc"]))),
                ".".join(("defaults", *map(str, e["loc"]))),
                _describe(e),
            )
            for e in exc.errors()
        ]
    return []


def _name_problem(name: str) -> str | None:
    if len(name) > MAX_NAME_LENGTH:
        return f"asset name is longer than {MAX_NAME_LENGTH} characters"
    if NAME_PATTERN.match(name):
        return None
    fixed = re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-._") or "asset"
    return (
        "asset names use lowercase letters, digits, '-', '_' and '.', starting with a letter "
        f"or digit (did you mean '{fixed}'?)"
    )


def toml_issue(relative: str, exc: tomli.TOMLDecodeError) -> SpecIssue:
    """A TOML syntax error at its line, with the column."""
    return SpecIssue(relative, exc.lineno, "", f"invalid TOML: {exc.msg} (column {exc.colno})")


_KINDS = {
    "int_type": "a whole number",
    "string_type": "a string",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "a table",
    "model_type": "a table",
}


def _describe(error: Any) -> str:
    kind = error["type"]
    value = error.get("input")
    loc = error["loc"]
    field = str(loc[-1]) if loc else ""
    if kind == "extra_forbidden":
        hint = did_you_mean(field, ASSET_FIELDS)
        return f"unknown field{hint}" + (
            "" if hint else f"; allowed fields: {listing(ASSET_FIELDS)}"
        )
    if kind == "literal_error":
        modes = typing.get_args(Mode)
        return (
            f"{show(value)} is not allowed; allowed: {listing(modes)}{did_you_mean(value, modes)}"
        )
    if kind == "missing":
        return "required field is missing" + (
            f"; allowed: {listing(typing.get_args(Mode))}" if field == "mode" else ""
        )
    if kind in _KINDS:
        got = type(value).__name__ if not isinstance(value, str) else "string"
        hint = ""
        if kind == "int_type" and isinstance(value, str) and value.strip().isdigit():
            hint = f" (did you mean {value.strip()} without quotes?)"
        elif kind == "int_type" and isinstance(value, float) and math.isfinite(value):
            hint = f" (did you mean {max(round(value), 0)}?)"
        elif kind == "string_type" and not isinstance(value, dict | list):
            hint = f' (did you mean "{value}"?)'
        return f"expected {_KINDS[kind]}, got {got} {value!r}{hint}"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = next(iter((error.get("ctx") or {}).values()), None)
        words = {
            "greater_than_equal": "at least",
            "greater_than": "more than",
            "less_than_equal": "at most",
            "less_than": "less than",
        }[kind]
        nearest = f" (did you mean {bound}?)" if kind.endswith("_equal") else ""
        return f"{value!r} is not allowed; allowed: {words} {bound}{nearest}"
    return f"{error['msg']}, got {value!r}"
