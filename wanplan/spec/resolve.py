"""Resolve declared assets into generation requests with content keys.

Resolution checks what pydantic cannot: the provider and model exist, the values are among the
model's capabilities (from the catalog), inputs exist inside the project and suit the mode.
It fills catalog defaults, so writing a default explicitly changes nothing.
"""

from __future__ import annotations

import stat
from collections.abc import Collection
from pathlib import Path, PurePosixPath
from typing import Any

from wanplan import confine
from wanplan.catalog import Catalog, ModelEntry
from wanplan.catalog.model import VIDEO_MODES
from wanplan.errors import SpecError, SpecIssue
from wanplan.key.content_key import content_key
from wanplan.key.file_hashes import FileHasher
from wanplan.project import SIDECAR_SUFFIX
from wanplan.spec import media_kind
from wanplan.spec.dependencies import ASSET_PREFIX, INPUT_FIELDS, references, upstream_order
from wanplan.spec.load import DeclaredAsset, SpecSet
from wanplan.spec.modes import (
    FIELD_KINDS,
    GRID_LAYOUT,
    MODE_RULES,
    ModeRule,
    prompt_expansion,
)
from wanplan.spec.resolved import InputRef, ResolvedAsset
from wanplan.spec.suggest import did_you_mean, listing, show


def _not_json(value: Any, path: str = "params") -> str | None:
    """The path of the first value in `params` that JSON cannot carry (TOML dates, times)."""
    if isinstance(value, dict):
        for key, item in value.items():
            found = _not_json(item, f"{path}.{key}")
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _not_json(item, f"{path}[{index}]")
            if found:
                return found
    elif not isinstance(value, str | int | float | bool) and value is not None:
        return path
    return None


def _size(size: int, other: int) -> str:
    """Megabytes, or bytes when megabytes would not tell `size` from `other`."""
    mb, other_mb = f"{size / 1_048_576:.1f} MB", f"{other / 1_048_576:.1f} MB"
    return f"{size:,} bytes" if mb == other_mb else mb


def _no_spaces(value: str) -> str:
    return value.replace(" ", "")


def _hashable(value: Any) -> Any:
    """A profile's list of preferences as a tuple, for the resolver's memo of models."""
    return tuple(value) if isinstance(value, list) else value


class Resolver:
    def __init__(
        self,
        root: Path,
        catalog: Catalog,
        providers: frozenset[str],
        default_provider: str,
        hasher: FileHasher,
    ) -> None:
        self.root = root
        self.catalog = catalog
        self.providers = providers
        self.default_provider = default_provider
        self.hasher = hasher
        self._root_resolved = root.resolve()
        self._models: dict[tuple[Any, ...], tuple[tuple[ModelEntry, str] | None, list[Any]]] = {}
        self._files: dict[str, tuple[str, int, media_kind.Kinds | None] | str] = {}
        self._declared: Collection[str] = ()
        self._unreadable: list[str] = []
        self._digests: dict[str, str] = {}
        self._taken: dict[tuple[str, str, str], tuple[str, ...]] = {}
        """The inputs a (provider, mode, model id) takes, remembered: the same for thousands of
        assets."""
        self._made: dict[str, tuple[str, str]] = {}
        """Address -> (content key, mode) of each asset resolved so far (upstreams first)."""

    def resolve_all(self, specs: SpecSet, *, linked: bool = False) -> list[ResolvedAsset]:
        """`linked`: some asset may use another's output even if no file says `asset:` (a
        profile sets it)."""
        issues: list[SpecIssue] = []
        resolved: list[ResolvedAsset] = []
        linked = linked or any(ASSET_PREFIX in text for text in specs.texts.values())
        if linked:
            ordered, cycles = upstream_order(specs.assets)
        else:  # no asset uses another's output: the file order will do
            ordered, cycles = specs.assets, []
        declared = {a.address: a for a in specs.assets} if linked else {}
        self._declared = declared.keys() | specs.broken
        self._unreadable = specs.unreadable
        for cycle in cycles:
            first = declared[cycle[0]]
            field = next(f for f, upstream in references(first.spec) if upstream == cycle[1])
            issues.append(
                specs.issue(
                    first,
                    field.split("[")[0],
                    f"dependency cycle: {' → '.join(cycle)}; an asset cannot use its own "
                    "output, even through others",
                )
            )
        for asset in ordered:
            found: list[tuple[str, str]] = []
            result = self._resolve(asset, found)
            if asset.dropped:  # its wrong fields were reported: nothing more is said of them
                found = [(f, m) for f, m in found if f.split("[")[0] not in asset.dropped]
            issues.extend(specs.issue(asset, field, message) for field, message in found)
            if result is not None and not found and not asset.dropped:
                resolved.append(result)
                if linked:
                    self._made[asset.address] = (result.content_key, result.mode)
        issues.extend(_shared_outputs(specs, resolved))
        if issues:  # assets left out of the order are on or below a cycle, reported above
            raise SpecError(issues)
        return resolved

    def _resolve(self, asset: DeclaredAsset, issues: list[tuple[str, str]]) -> ResolvedAsset | None:
        spec = asset.spec
        get = spec.get  # a local: this runs once per asset, thousands of times
        mode = spec["mode"]
        provider = get("provider") or self.default_provider
        if provider not in self.providers:
            if not get("provider"):
                return None  # a misspelt default_provider: reported once, at wanplan.toml
            issues.append(
                (
                    "provider",
                    f"unknown provider {show(provider)}; "
                    f"available: {listing(sorted(self.providers))}"
                    f"{did_you_mean(provider, sorted(self.providers))}",
                )
            )
            return None
        choice = (
            provider,
            _hashable(get("model")),
            get("model_id"),
            mode,
            _hashable(get("resolution")),
        )
        if choice not in self._models:
            found: list[tuple[str, str]] = []
            self._models[choice] = (self._model_and_resolution(asset, provider, found), found)
        chosen, found = self._models[choice]
        issues.extend(found)
        if chosen is None:
            return None
        entry, resolution = chosen

        rule = MODE_RULES[mode]
        params: dict[str, Any] = {}
        prompt = (spec.get("prompt") or "").strip()
        negative = (spec.get("negative_prompt") or "").strip()
        if not entry.takes_prompt:
            # No prompt is documented: one of the asset's own is refused, one its file's
            # [defaults] give is left out (and out of the content key), as for watermark.
            for unused in ("prompt", "negative_prompt", "prompt_expansion"):
                given = spec.get(unused)
                if unused in asset.own_fields and given is not None and str(given).strip():
                    issues.append(
                        (
                            unused,
                            f"{entry.model_id} takes no {unused.replace('_', ' ')} on "
                            f"{entry.provider}; remove it",
                        )
                    )
            prompt = negative = ""
        if prompt:
            params["prompt"] = prompt
            if entry.max_prompt_chars and len(prompt) > entry.max_prompt_chars:
                issues.append(("prompt", self._prompt_too_long(len(prompt), entry)))
        elif rule.prompt_required:
            issues.append(("prompt", f"required for mode {mode}; describe the shot"))
        if negative:
            params["negative_prompt"] = negative

        params["resolution"] = resolution
        if mode in VIDEO_MODES and not entry.durations:
            self._not_applicable(
                asset, "duration", f"{entry.model_id} keeps the length of its input", issues
            )
        elif mode in VIDEO_MODES:
            params["duration"] = self._choice(
                asset,
                "duration",
                get("duration"),
                entry.durations,
                entry.default_duration,
                issues,
                owner=entry.model_id,
            )
        elif "duration" in asset.own_fields:
            self._not_applicable(asset, "duration", f"mode {mode} makes an image", issues)
        if entry.aspect_ratios:
            params["aspect_ratio"] = self._choice(
                asset,
                "aspect_ratio",
                get("aspect_ratio"),
                entry.aspect_ratios,
                entry.default_aspect_ratio,
                issues,
                normalise=_no_spaces,
                owner=entry.model_id,
            )
        elif "aspect_ratio" in asset.own_fields:
            self._not_applicable(
                asset, "aspect_ratio", f"{entry.model_id} takes the frame of its input", issues
            )
        for field in ("seed", "prompt_expansion", "params"):
            if get(field) is not None:
                params[field] = spec[field]
        if not entry.takes_prompt:  # no prompt to expand (refused above when the asset sets it)
            params.pop("prompt_expansion", None)
        if get("watermark") is not None:
            if entry.watermark_default is None:
                if "watermark" in asset.own_fields:
                    issues.append(
                        (
                            "watermark",
                            f"{entry.model_id} has no documented watermark option on "
                            f"{entry.provider}; remove it",
                        )
                    )
            else:  # only when set: the provider's default leaves content keys as they were
                params["watermark"] = spec["watermark"]
        if "params" in params and (bad := _not_json(params["params"])):
            issues.append(
                ("params", f"{bad}: dates and times cannot be sent to a provider; quote them")
            )

        inputs = self._inputs(asset, rule, entry, issues)
        longest = entry.max_duration_with_video_reference
        duration = params.get("duration")
        if (
            longest is not None
            and duration in entry.durations  # else it is refused already
            and duration > longest
            and any(self._reference_kind(r) == "video" for r in inputs if r.field != "video")
        ):
            issues.append(
                (
                    "duration",
                    f"{duration} s; {entry.model_id} makes at most {longest} s when a "
                    f"reference is a video (did you mean {longest}?)",
                )
            )
        output = self._output(asset, issues)
        if issues:
            return None
        warnings: tuple[str, ...] = ()
        if not entry.takes_seed and params.get("seed") is not None:
            # Kept in the content key (keys stay as they were); only the request leaves it out.
            warnings += (
                f"{entry.provider} documents no seed for {entry.model_id}: none is sent, and "
                "the result is not reproducible",
            )
        if prompt_expansion(params, entry.prompt_expansion_default):
            warnings += (
                f"prompt expansion is on ({provider} rewrites the prompt): the result is not "
                "reproducible; set prompt_expansion = false",
            )
        material: dict[str, Any] = {
            "provider": provider,
            "model_id": entry.model_id,
            "mode": mode,
            "params": params,
        }
        if entry.grid_composed and any(r.field.startswith("grid[") for r in inputs):
            material["grid_layout"] = GRID_LAYOUT
        if inputs:
            keyed: dict[str, Any] = {}
            for ref in inputs:
                name, listed, _ = ref.field.partition("[")
                if listed:
                    keyed.setdefault(name, []).append(ref.key_value)
                else:
                    keyed[ref.field] = ref.key_value
            material["inputs"] = keyed
        return ResolvedAsset(
            address=asset.address,
            file=asset.file,
            provider=provider,
            family=entry.family,
            model_id=entry.model_id,
            mode=mode,
            params=params,
            inputs=tuple(inputs),
            output=output,
            material=material,
            content_key=content_key(material),
            warnings=warnings,
        )

    def _prompt_too_long(self, length: int, entry: ModelEntry) -> str:
        roomier = sorted(
            {
                m.family
                for m in self.catalog.models
                if (m.provider, m.mode) == (entry.provider, entry.mode)
                and (m.max_prompt_chars is None or m.max_prompt_chars >= length)
            }
        )
        elsewhere = f", or a family that takes it: {listing(roomier)}" if roomier else ""
        return (
            f"is {length} characters; {entry.model_id} takes at most {entry.max_prompt_chars} "
            f"(shorten it by {length - (entry.max_prompt_chars or 0)}{elsewhere})"
        )

    def _model_and_resolution(
        self, asset: DeclaredAsset, provider: str, issues: list[tuple[str, str]]
    ) -> tuple[ModelEntry, str] | None:
        """The catalog entry and resolution for these values (the same for every asset that
        has them, so the resolver remembers the answer)."""
        spec = asset.spec
        entry = self._model_entry(asset, provider, issues)
        if entry is None:
            return None
        allowed = (
            entry.resolutions
            if spec.get("model_id")
            else self.catalog.resolutions(provider, entry.family, spec["mode"])
        )
        resolution = self._choice(
            asset,
            "resolution",
            spec.get("resolution"),
            allowed,
            entry.default_resolution,
            issues,
            normalise=str.lower,
            owner=entry.model_id if spec.get("model_id") else f"{entry.family} {spec['mode']}",
        )
        if not spec.get("model_id"):
            entry = self.catalog.model(provider, entry.family, spec["mode"], resolution) or entry
        return entry, resolution

    def _model_entry(
        self, asset: DeclaredAsset, provider: str, issues: list[tuple[str, str]]
    ) -> ModelEntry | None:
        mode, model, model_id = (
            asset.spec["mode"],
            asset.spec.get("model"),
            asset.spec.get("model_id"),
        )
        if model_id:
            entry = self.catalog.model_by_id(provider, model_id, mode)
            if entry is None:
                known = self.catalog.model_ids(provider)
                message = (
                    f"{model_id} has no {mode} mode on {provider}"
                    if model_id in known
                    else f"unknown model id {show(model_id)} for {provider}"
                    f"{did_you_mean(model_id, known)}"
                )
                issues.append(("model_id", f"{message}; see `wanplan models`"))
            return entry
        families = self.catalog.families(provider, mode)
        if not families:
            offering = sorted({m.provider for m in self.catalog.models if m.mode == mode})
            issues.append(
                (
                    "mode",
                    f"{provider} offers no {mode} model; providers with {mode}: "
                    f"{listing(offering) or 'none'}",
                )
            )
            return None
        if not model:
            issues.append(
                (
                    "model",
                    f"required: the model family, one of {listing(families)} "
                    f"for {mode} on {provider}",
                )
            )
            return None
        if isinstance(model, list):  # a profile's preferences: the first this mode has
            entry = next((e for m in model if (e := self.catalog.model(provider, m, mode))), None)
            if entry is None:
                issues.append(
                    (
                        "model",
                        f"none of {listing(model)} has {mode} on {provider}; families with "
                        f"{mode}: {listing(families)}",
                    )
                )
            return entry
        entry = self.catalog.model(provider, model, mode)
        if entry is None:
            if model in self.catalog.families(provider):
                message = (
                    f"{model} has no {mode} mode on {provider}; "
                    f"families with {mode}: {listing(families)}"
                )
            else:
                message = (
                    f"unknown model family {show(model)} for {mode} on {provider}; "
                    f"allowed: {listing(families)}{did_you_mean(model, families)}"
                )
            issues.append(("model", message))
        return entry

    def _choice(
        self,
        asset: DeclaredAsset,
        field: str,
        value: Any,
        allowed: tuple[Any, ...],
        default: Any,
        issues: list[tuple[str, str]],
        normalise: Any = None,
        owner: str = "this model",
    ) -> Any:
        if value is None:
            return default
        if isinstance(value, list):  # a profile's preferences: the first the model allows
            wanted = [normalise(v) if normalise else v for v in value]
            chosen = next((v for v in wanted if v in allowed), None)
            if chosen is None:
                issues.append(
                    (
                        field,
                        f"none of {listing(wanted)} is allowed for {owner}; allowed: "
                        f"{listing(allowed)}{did_you_mean(wanted[0], allowed)}",
                    )
                )
                return wanted[0]
            return chosen
        if normalise is not None:
            value = normalise(value)
        if value not in allowed:
            issues.append(
                (
                    field,
                    f"{show(value)} is not allowed for this model; allowed: {listing(allowed)}"
                    f"{did_you_mean(value, allowed)}",
                )
            )
        return value

    def _not_applicable(
        self, asset: DeclaredAsset, field: str, why: str, issues: list[tuple[str, str]]
    ) -> None:
        if asset.spec.get(field) is not None and field in asset.own_fields:
            issues.append((field, f"not used here ({why}); remove it"))

    def _inputs(
        self,
        asset: DeclaredAsset,
        rule: ModeRule,
        entry: ModelEntry,
        issues: list[tuple[str, str]],
    ) -> list[InputRef]:
        spec, mode = asset.spec, asset.spec["mode"]
        shape = (entry.provider, mode, entry.model_id)
        taken = self._taken.get(shape)
        if taken is None:
            taken = rule.required + tuple(f for f in rule.optional if f in entry.inputs)
            self._taken[shape] = taken
        refs: list[InputRef] = []
        for field in rule.required:
            stand_ins = [f for f in rule.instead.get(field, ()) if f in taken]
            if spec.get(field) or any(spec.get(f) for f in stand_ins):
                continue
            other = f" (or {' or '.join(stand_ins)})" if stand_ins else ""
            issues.append((field, f"required for mode {mode}{other}"))
        skipped: set[str] = set()
        for required, fs in rule.instead.items():
            given = [f for f in (required, *fs) if spec.get(f) and (f == required or f in taken)]
            own = [f for f in given if f in asset.own_fields]
            if own:  # the asset's own choice wins over what its file's [defaults] give
                skipped.update(f for f in given if f not in own)
                given = own
            if len(given) > 1:  # one first frame only: an image, a grid or a clip to continue
                issues.append((given[-1], f"give only one of {' or '.join(given)}"))
                skipped.update(given[1:])
        for field in INPUT_FIELDS:
            value = spec.get(field)
            if not value:
                continue
            if field not in taken:
                if field in asset.own_fields:
                    issues.append((field, self._not_taken(field, mode, entry, taken)))
                continue
            if field in skipped:
                continue
            sources = value if isinstance(value, list) else [value]
            most = entry.max_grid_images if field == "grid" else entry.max_references
            if isinstance(value, list) and most is not None and len(value) > most:
                issues.append(
                    (
                        field,
                        f"{len(value)} given; {entry.model_id} takes at most {most} "
                        f"(drop {len(value) - most})",
                    )
                )
                continue
            for index, source in enumerate(sources):
                label = f"{field}[{index}]" if isinstance(value, list) else field
                ref = self._input(label, source, entry, issues)
                if ref is not None:
                    refs.append(ref)
        references_given = len(spec.get("references") or [])
        if references_given < entry.min_references and "references" in taken:
            issues.append(
                (
                    "references",
                    f"{entry.model_id} needs at least {entry.min_references} reference "
                    f"{'image' if entry.min_references == 1 else 'images'} to work from",
                )
            )
        if not any(field == "references" for field, _ in issues):  # else it says enough
            self._check_reference_kinds(refs, entry, issues)
        return refs

    def _check_reference_kinds(
        self, refs: list[InputRef], entry: ModelEntry, issues: list[tuple[str, str]]
    ) -> None:
        """The model's limits on how many references are images or videos."""
        if entry.max_reference_images is None and not entry.min_reference_videos:
            return
        listed = [r for r in refs if r.field.startswith("references[")]
        kinds = [self._reference_kind(r) for r in listed]
        for ref, kind in zip(listed, kinds, strict=True):
            if kind is None and ref.is_url:
                issues.append(
                    (
                        "references",
                        f"{show(ref.source)}: cannot tell whether it is an image or a video, "
                        f"and {entry.model_id} takes them apart; use a URL ending in its type "
                        "(.png, .mp4) or a project file",
                    )
                )
                return
        images, videos = kinds.count("image"), kinds.count("video")
        if entry.max_reference_images is not None and images > entry.max_reference_images:
            issues.append(
                (
                    "references",
                    f"{images} images given; {entry.model_id} takes at most "
                    f"{entry.max_reference_images} image among its references",
                )
            )
        if videos < entry.min_reference_videos and None not in kinds:
            issues.append(
                (
                    "references",
                    f"{entry.model_id} needs at least {entry.min_reference_videos} video among "
                    "its references (mp4, mov, webm)",
                )
            )

    def _reference_kind(self, ref: InputRef) -> str | None:
        """A reference's kind: a clip (video or animated GIF) counts as a video."""
        if ref.upstream is not None:
            made = self._made.get(ref.upstream)
            return None if made is None else "video" if made[1] in VIDEO_MODES else "image"
        checked = self._files.get(ref.source)
        kinds = checked[2] if isinstance(checked, tuple) else media_kind.by_name(ref.source)
        if kinds is None:
            return None
        return "video" if "video" in kinds else "image"

    def _not_taken(self, field: str, mode: str, entry: ModelEntry, taken: tuple[str, ...]) -> str:
        """Why `field` is refused: the mode never takes it, or this model does not."""
        if field not in MODE_RULES[mode].optional:
            return f"not used by mode {mode}; its inputs are {listing(taken) or 'none'}"
        families = sorted(
            {
                m.family
                for m in self.catalog.models
                if (m.provider, m.mode) == (entry.provider, mode) and field in m.inputs
            }
        )
        elsewhere = (
            f"; families on {entry.provider} with it: {listing(families)}"
            f"{did_you_mean(entry.family, families)}"
            if families
            else f"; no {mode} family on {entry.provider} takes it"
        )
        return f"{entry.model_id} takes no {field} for {mode}{elsewhere}"

    def _kinds(self, field: str, entry: ModelEntry) -> media_kind.Kinds:
        if field == "references":
            return frozenset(entry.reference_kinds)
        return FIELD_KINDS[field]

    def _input(
        self, label: str, source: str, entry: ModelEntry, issues: list[tuple[str, str]]
    ) -> InputRef | None:
        field = label.split("[")[0]
        wanted = self._kinds(field, entry)
        if source.startswith(ASSET_PREFIX):
            return self._upstream_input(label, field, source, wanted, issues)
        if "://" in source and not source.startswith("https://"):
            issues.append(
                (field, f"{show(source)}: only https URLs and project files are accepted")
            )
            return None
        if source.startswith("https://") and field == "grid" and entry.grid_composed:
            issues.append(
                (
                    field,
                    f"{show(source)}: {entry.provider} takes no grid, so wanplan composes it into "
                    "one first frame from project files or asset outputs; download it into the "
                    "project",
                )
            )
            return None
        if source.startswith("https://"):
            kinds = media_kind.by_name(source)
            if kinds is not None and not kinds & wanted:
                issues.append((field, self._wrong_kind(label, source, kinds, wanted)))
                return None
            return InputRef(label, source, None)
        if source not in self._files:
            self._files[source] = self._local_file(source)
        checked = self._files[source]
        if isinstance(checked, str):
            issues.append((field, checked))
            return None
        relative, size, kinds = checked
        if not (kinds or frozenset()) & wanted:
            issues.append((field, self._wrong_kind(label, source, kinds, wanted)))
            return None
        kind = next(k for k in ("image", "video", "audio") if k in (kinds or frozenset()) & wanted)
        limit = {"audio": entry.max_audio_bytes, "video": entry.max_video_bytes}.get(kind)
        limit = limit or entry.max_input_bytes
        if limit is not None and size > limit:
            issues.append(
                (
                    field,
                    f"{source} is {_size(size, limit)}; {entry.provider} accepts at most "
                    f"{_size(limit, size)} of {kind} for {entry.model_id} (shrink it, or "
                    "pass an https URL to a smaller copy)",
                )
            )
            return None
        digest = self._digests.get(relative)
        if digest is None:  # hashed (or its stamp checked) once per plan, not once per use
            digest = self._digests[relative] = self.hasher.sha256(relative)
        return InputRef(label, relative, digest)

    def _wrong_kind(
        self,
        label: str,
        source: str,
        kinds: media_kind.Kinds | None,
        wanted: media_kind.Kinds,
    ) -> str:
        field = label.split("[")[0]
        what = media_kind.describe(kinds) if kinds else "not a file type wanplan recognises"
        return (
            f"{show(source)} is {what}; {field} takes {media_kind.article(wanted)} "
            f"(did you mean a {media_kind.formats(wanted)} file?)"
        )

    def _upstream_input(
        self,
        label: str,
        field: str,
        source: str,
        wanted: media_kind.Kinds,
        issues: list[tuple[str, str]],
    ) -> InputRef | None:
        name = source[len(ASSET_PREFIX) :]
        if name not in self._declared:
            if self._unreadable:  # it may be there: that problem is reported, this one waits
                return None
            issues.append(
                (
                    field,
                    f"{show(source)}: no asset {show(name)} is declared"
                    f"{did_you_mean(name, sorted(self._declared))}",
                )
            )
            return None
        made = self._made.get(name)
        if made is None:
            issues.append((field, f"{show(source)}: {name} has problems of its own; fix it first"))
            return None
        key, mode = made
        makes = "video" if mode in VIDEO_MODES else "image"
        if makes not in wanted:
            issues.append(
                (
                    field,
                    f"{show(source)}: {name} makes {media_kind.article(frozenset({makes}))} "
                    f"({mode}); {field} needs {media_kind.article(wanted)}",
                )
            )
            return None
        return InputRef(label, source, None, key)

    def _local_file(self, source: str) -> tuple[str, int, media_kind.Kinds | None] | str:
        """(relative path, size, media kinds) of a project file, or what is wrong with it.
        (It is hashed once its size is known to be accepted.)"""
        relative = PurePosixPath(source)
        if relative.is_absolute() or ".." in relative.parts:
            return f"{show(source)} leaves the project; use a path inside it, like inputs/hero.png"
        path = self.root / relative
        try:
            confine.resolved_inside(self._root_resolved, path)
        except confine.Confined as exc:
            return f"{show(source)} {exc}"
        try:
            st = path.stat()
        except FileNotFoundError:
            st = None
        except OSError as exc:  # a name too long for the file system, say
            return f"{show(source)}: cannot be read ({exc.strerror or exc})"
        if st is not None and not stat.S_ISREG(st.st_mode):
            return f"{show(source)} is {confine.kind(st.st_mode)}, not a file"
        if st is None:
            siblings = (
                sorted(
                    p.relative_to(self.root).as_posix()
                    for p in path.parent.iterdir()
                    if p.is_file()
                )
                if path.parent.is_dir()
                else []
            )
            return f"file not found: {source}{did_you_mean(source, siblings)}"
        posix = relative.as_posix()
        try:
            kinds = media_kind.of_file(path)
            size = path.stat().st_size
        except OSError as exc:
            return f"{source}: cannot be read ({exc.strerror or exc})"
        return posix, size, kinds

    def _output(self, asset: DeclaredAsset, issues: list[tuple[str, str]]) -> str | None:
        name = asset.spec.get("output")
        if name is None:
            return None
        path = PurePosixPath(name)
        if (
            not name
            or path.is_absolute()
            or ".." in path.parts
            or "\\" in name
            or not name.isprintable()
            or name.endswith(SIDECAR_SUFFIX)  # another output's provenance sidecar
            or path.name.startswith(".")
        ):
            issues.append(("output", f"{show(name)} must be a file name inside outputs/"))
            return None
        return path.as_posix()


def _shared_outputs(specs: SpecSet, resolved: list[ResolvedAsset]) -> list[SpecIssue]:
    """Two assets writing one file would overwrite (and delete) each other's output."""
    owners: dict[str, str] = {}
    clashes: list[SpecIssue] = []
    declared = {a.address: a for a in specs.assets}
    for asset in resolved:
        stem = asset.output.rsplit(".", 1)[0] if asset.output else asset.address
        if stem in owners:
            clashes.append(
                specs.issue(
                    declared[asset.address],
                    "output" if asset.output else "",
                    f"writes the same output file as {owners[stem]}; give one an `output` of "
                    "its own",
                )
            )
        else:
            owners[stem] = asset.address
    return clashes
