"""Provenance sidecars: beside each output, `<output>.wanplan.json` says how it was made.

The name is the output's own file name plus `.wanplan.json`: one sidecar per output file (an
output renamed by its spec or a profile keeps its sidecar beside it), listed next to it, never
mistaken for an output, and plainly wanplan's. It holds what the state records about the
generation (content key, provider, model, mode, every parameter, input digests, task id, cost)
and never a secret: no key, no header, no result URL (those are signed and expire).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from wanplan import atomic, confine
from wanplan.confine import OUTPUTS
from wanplan.key.content_key import KEY_VERSION
from wanplan.project import OUTPUTS_DIR, SIDECAR_SUFFIX
from wanplan.spec.resolved import InputRef
from wanplan.state.records import AssetRecord

FORMAT_VERSION = "wanplan.provenance/1"
NAMED_PARAMETERS = (
    "prompt",
    "negative_prompt",
    "seed",
    "resolution",
    "duration",
    "aspect_ratio",
    "params",
)
"""Always present in a sidecar (null when not set), so a reader need not guess."""


def sidecar_path(output_path: str) -> str:
    return output_path + SIDECAR_SUFFIX


def is_sidecar(name: str) -> bool:
    return name.endswith(SIDECAR_SUFFIX)


def document(
    record: AssetRecord, details: Mapping[str, Any], inputs: Sequence[InputRef]
) -> dict[str, Any]:
    """The sidecar of `record`, from its generation row (`generation_details`)."""
    params = details["material"].get("params", {})
    return {
        "format": FORMAT_VERSION,
        "address": record.address,
        "profile": record.profile,
        "content_key": record.content_key,
        "content_key_version": KEY_VERSION,
        "provider": details["provider"],
        "model_id": details["model_id"],
        "mode": details["mode"],
        "parameters": {**dict.fromkeys(NAMED_PARAMETERS), **params},
        "inputs": [_input(ref) for ref in inputs],
        "task_id": details["task_id"],
        "cost": {
            "amount": details.get("cost"),
            "currency": "USD",
            "source": details.get("cost_source") or "unknown",
        },
        "output": {
            "path": record.output_path,
            "media_type": details["media_type"],
            "size": record.output_size,
            "sha256": record.output_sha256,
        },
        "generated_at": details["created_at"],
    }


def _input(ref: InputRef) -> dict[str, str]:
    """A file by its digest (never its bytes), a URL as declared, another asset's output by
    the content key it was made from."""
    kind, _, value = ref.key_value.partition(":")
    if kind == "sha256":
        return {"field": ref.field, "path": ref.source, "sha256": value}
    if kind == "url":
        return {"field": ref.field, "url": ref.source}
    return {"field": ref.field, "source": ref.source, "content_key": value}


def write(root: Path, record: AssetRecord, content: Mapping[str, Any]) -> None:
    """Atomically: a reader sees the old sidecar or the new one, never half of one."""
    path = root / sidecar_path(record.output_path)
    text = json.dumps(content, indent=2, ensure_ascii=False) + "\n"
    atomic.write_text(path, text)


def remove(root: Path, output_path: str) -> None:
    """Remove an output's sidecar; like the output itself, only inside outputs/."""
    path = root / sidecar_path(output_path)
    try:
        confine.check_destination(root / OUTPUTS_DIR, path, OUTPUTS)
    except confine.Confined:
        return  # not ours to remove
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def move(root: Path, old: AssetRecord, address: str, output_path: str) -> None:
    """`state mv`: the sidecar follows its output and names the new address."""
    source = root / sidecar_path(old.output_path)
    try:
        content = json.loads(confine.read_bytes(root / OUTPUTS_DIR, source))
    except (confine.Confined, ValueError, RecursionError):
        return  # none, or not ours to rewrite (a link, a folder, not JSON): left as it is
    if not isinstance(content, dict) or not isinstance(content.get("output"), dict):
        return
    content["address"] = address
    content["output"]["path"] = output_path
    moved = old._replace(address=address, output_path=output_path)
    write(root, moved, content)
    if output_path != old.output_path:
        remove(root, old.output_path)
