"""The content key of an asset (PRODUCT §4).

key = sha256( KEY_VERSION + "\\n" + canonical JSON of the key material )

The material holds everything that shapes the output and nothing else:
  provider, model_id, mode,
  params   every generation parameter after [defaults] and profile are merged and
           normalised (resolution lower-case, catalog defaults filled in, nulls dropped),
  inputs   for each input field, "sha256:<hex>" of a local file's bytes or "url:<url>",
  upstream the content keys of assets this one consumes (none yet in spec version 1).
Canonical JSON: sorted keys, no whitespace, UTF-8. Changing any of this changes every key, so it
is versioned: a new KEY_VERSION is a deliberate migration, never an accident.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from typing import Any

KEY_VERSION = "wanplan.content-key/1"


def _encode_extra(value: Any) -> str:
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__} in a content key")


_ENCODER = json.JSONEncoder(
    sort_keys=True,
    separators=(",", ":"),
    ensure_ascii=False,
    allow_nan=False,
    default=_encode_extra,
)


def canonical_json(material: Any) -> str:
    return _ENCODER.encode(material)


def content_key(material: dict[str, Any]) -> str:
    payload = f"{KEY_VERSION}\n{canonical_json(material)}".encode()
    return hashlib.sha256(payload).hexdigest()
