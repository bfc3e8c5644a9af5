"""The version before the current one, beside it: from the cache, or said to be gone."""

from __future__ import annotations

from html import escape

from wanplan.report.figure import Hrefs, media_html
from wanplan.report.history import Earlier


def versions_html(current: str, earlier: Earlier | None, prompt: str | None, hrefs: Hrefs) -> str:
    """`current` is the current version's HTML; `prompt` its prompt, to say when it changed."""
    if earlier is None:
        return current
    when = f"made {earlier.generated_at}" if earlier.generated_at else "made earlier"
    changed = ""
    if earlier.prompt is not None and earlier.prompt != prompt:
        changed = f'<p class="note">prompt then: {escape(earlier.prompt)}</p>'
    if earlier.blob is None:
        shown = f'<p class="gone">no longer in this disk\'s cache ({escape(when)})</p>'
    else:
        label = f"the version before, {when}"
        shown = media_html(hrefs[earlier.blob], earlier.extension, label, label)
        shown = f'<div class="media">{shown}</div><p class="note">{escape(when)}</p>'
    return (
        f'<div class="versions"><div class="now"><h4>now</h4>{current}</div>'
        f'<div class="earlier" data-content-key="{escape(earlier.content_key)}">'
        f"<h4>before</h4>{shown}{changed}</div></div>"
    )
