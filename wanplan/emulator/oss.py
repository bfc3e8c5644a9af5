"""DashScope's temporary storage for local files: `GET /api/v1/uploads?action=getPolicy` hands
out an OSS form-upload policy whose `upload_host` is this emulator (`/oss/<bucket>`); the client
posts the file there as a multipart form and then names it `oss://<key>` in its inputs.

The form is checked as OSS would: the access key id, a policy this emulator issued and has not
expired, its signature, a key inside the policy's upload directory, no overwrite. Answers are
empty on success (200 when `success_action_status` asks for it, else 204) and OSS XML errors.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from wanplan.emulator.files import storage_error
from wanplan.emulator.multipart import BadForm, parse_form
from wanplan.emulator.uploads import UploadStore
from wanplan.emulator.wire import Request, Response

BUCKET = "dashscope-instant"
OSS_PATH = f"/oss/{BUCKET}"
ACCESS_KEY_ID = "LTAI5tEmulatorAccessKey"
POLICY_SECONDS = 300
MAX_FILE_MB = 100


@dataclass(frozen=True, slots=True)
class _Issued:
    upload_dir: str
    expires_at: float


class OssBucket:
    def __init__(self, secret: bytes, uploads: UploadStore) -> None:
        self._secret = secret
        self._uploads = uploads
        self._issued: dict[str, _Issued] = {}

    def clear(self) -> None:
        self._issued.clear()

    def policy(self, model: str, origin: str, now: float) -> dict[str, Any]:
        """The `data` of a getPolicy answer."""
        number = len(self._issued) + 1
        day = datetime.datetime.fromtimestamp(now, datetime.UTC).strftime("%Y-%m-%d")
        digest = hashlib.sha256(self._secret + model.encode()).hexdigest()[:12]
        upload_dir = f"{BUCKET}/{digest}/{day}/{number:06d}"
        expires = datetime.datetime.fromtimestamp(now + POLICY_SECONDS, datetime.UTC)
        document = {
            "expiration": expires.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "conditions": [
                {"bucket": BUCKET},
                ["starts-with", "$key", upload_dir],
                ["content-length-range", 0, MAX_FILE_MB * 1024 * 1024],
            ],
        }
        policy = base64.b64encode(json.dumps(document).encode()).decode()
        self._issued[policy] = _Issued(upload_dir, now + POLICY_SECONDS)
        return {
            "policy": policy,
            "signature": self._sign(policy),
            "upload_dir": upload_dir,
            "upload_host": f"{origin}{OSS_PATH}",
            "expire_in_seconds": POLICY_SECONDS,
            "max_file_size_mb": MAX_FILE_MB,
            "capacity_limit_mb": 999999999,
            "oss_access_key_id": ACCESS_KEY_ID,
            "x_oss_object_acl": "private",
            "x_oss_forbid_overwrite": "true",
        }

    def form_upload(self, request: Request, now: float) -> Response:
        if request.method != "POST":
            return storage_error(405, "MethodNotAllowed", "The specified method is not allowed.")
        try:
            form = parse_form(request.header("content-type"), request.body)
        except BadForm as exc:
            return storage_error(400, "InvalidArgument", str(exc))
        text = {name: part.text for name, part in form.items() if part.filename is None}
        policy = text.get("policy", "")
        issued = self._issued.get(policy)
        if text.get("OSSAccessKeyId") != ACCESS_KEY_ID or issued is None:
            return storage_error(403, "InvalidAccessKeyId", "The policy or access key is unknown.")
        if not hmac.compare_digest(text.get("Signature", ""), self._sign(policy)):
            return storage_error(403, "SignatureDoesNotMatch", "The signature does not match.")
        if now >= issued.expires_at:
            return storage_error(403, "AccessDenied", "Invalid according to Policy: expired.")
        key = text.get("key", "")
        if not key.startswith(issued.upload_dir + "/") or key.endswith("/"):
            return storage_error(403, "AccessDenied", "The key is outside the policy's directory.")
        upload = form.get("file")
        if upload is None or upload.filename is None:
            return storage_error(400, "InvalidArgument", "The form has no file field.")
        if text.get("x-oss-forbid-overwrite") == "true" and self._uploads.has_object(key):
            return storage_error(409, "FileAlreadyExists", "The object already exists.")
        content_type = (
            text.get("x-oss-content-type") or upload.content_type or "application/octet-stream"
        )
        self._uploads.put_object(key, content_type, upload.data)
        status = 200 if text.get("success_action_status") == "200" else 204
        return Response(status)

    def _sign(self, policy: str) -> str:
        digest = hmac.new(self._secret, policy.encode(), hashlib.sha1).digest()
        return base64.b64encode(digest).decode()
