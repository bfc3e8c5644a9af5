"""A small multipart/form-data reader for the two form uploads the emulator accepts (WaveSpeed's
legacy binary upload and the OSS-style form). Bytes are kept exactly as sent."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message


class BadForm(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class FormPart:
    name: str
    filename: str | None
    content_type: str | None
    data: bytes

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


def _params(header: str, value: str) -> Message:
    message = Message()
    message[header] = value
    return message


def parse_form(content_type: str | None, body: bytes) -> dict[str, FormPart]:
    """The parts by field name (the first of each name wins)."""
    if not content_type or not content_type.lower().startswith("multipart/form-data"):
        raise BadForm("expected a multipart/form-data body")
    boundary = _params("content-type", content_type).get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise BadForm("the multipart body has no boundary")
    delimiter = b"--" + boundary.encode()
    sections = body.split(delimiter)
    if len(sections) < 3:
        raise BadForm("the multipart body has no parts")
    parts: dict[str, FormPart] = {}
    for section in sections[1:]:
        if section.startswith(b"--"):
            break
        head, found, data = section.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not found:
            raise BadForm("a multipart part has no header")
        part = _part(head.decode("utf-8", "replace"), data.removesuffix(b"\r\n"))
        if part is not None:
            parts.setdefault(part.name, part)
    return parts


def _part(head: str, data: bytes) -> FormPart | None:
    headers: dict[str, str] = {}
    for line in head.split("\r\n"):
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    disposition = _params("content-disposition", headers.get("content-disposition", ""))
    field = disposition.get_param("name", header="content-disposition")
    if not isinstance(field, str):
        return None
    filename = disposition.get_param("filename", header="content-disposition")
    return FormPart(
        field,
        filename if isinstance(filename, str) else None,
        headers.get("content-type"),
        data,
    )
