"""An output's inputs in the page: a thumbnail of each file still as it was used, its field and
path; another asset's output links to that asset's entry."""

from __future__ import annotations

from html import escape

from wanplan.report.figure import Hrefs, anchor_href, extension_of, media_html
from wanplan.report.inputs import Input


def inputs_html(inputs: tuple[Input, ...], hrefs: Hrefs) -> str:
    if not inputs:
        return ""
    items = "".join(f"<li>{_input(item, hrefs)}</li>" for item in inputs)
    return f'<ul class="inputs" aria-label="inputs">{items}</ul>\n'


def _input(item: Input, hrefs: Hrefs) -> str:
    thumbnail = ""
    if item.source is not None:
        thumbnail = media_html(
            hrefs[item.source], extension_of(item.source), f"{item.field}: {item.label}", item.label
        )
    label = escape(item.label)
    if item.upstream is not None:
        label = f'<a href="{escape(anchor_href(item.upstream))}">{label}</a>'
    note = f' <span class="note">({escape(item.note)})</span>' if item.note else ""
    return f"{thumbnail}{escape(item.field)}: {label}{note}"
