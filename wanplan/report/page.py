"""The report's one HTML page: inline CSS, no script, no remote resource, every string escaped.

The Content-Security-Policy says so to the browser as well: media and images from the report's
own folder only, styles inline, nothing else."""

from __future__ import annotations

from html import escape
from typing import Any

from wanplan.cost.ledger import Tally
from wanplan.money import as_decimal_string, format_usd
from wanplan.report.earlier_html import versions_html
from wanplan.report.figure import Hrefs, anchor, media_html
from wanplan.report.gallery import Entry, Gallery
from wanplan.report.inputs_html import inputs_html

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'"
)

STYLE = """
:root { color-scheme: light dark; --muted: #767676; --line: #8884; }
body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; padding: 1.5rem;
  max-width: 90rem; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; }
header p { color: var(--muted); margin: 0 0 .25rem; }
header p.spent { color: inherit; margin-bottom: 1.5rem; }
.asset { border-top: 1px solid var(--line); padding: 1rem 0; }
.asset h2 { font-size: 1.1rem; margin: 0 0 .75rem; font-family: ui-monospace, monospace; }
.profiles { display: grid; gap: 1rem;
  grid-template-columns: repeat(var(--columns), minmax(0, 1fr)); }
.cell { margin: 0; min-width: 0; }
.cell h3 { font-size: .85rem; text-transform: uppercase; letter-spacing: .05em;
  color: var(--muted); margin: 0 0 .4rem; }
.media img, .media video { display: block; max-width: 100%; max-height: 24rem; background: #0001; }
.media audio { width: 100%; }
.missing, .absent { display: grid; place-items: center; min-height: 8rem;
  border: 2px dashed var(--line); color: var(--muted); }
.missing { color: #b3261e; border-color: #b3261e88; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .15rem .75rem; margin: .6rem 0 0; }
dt { color: var(--muted); }
dd { margin: 0; overflow-wrap: anywhere; white-space: pre-wrap; }
.inputs { display: flex; flex-wrap: wrap; gap: .5rem; margin: .5rem 0 0; padding: 0;
  list-style: none; font-size: .85rem; }
.inputs li { max-width: 10rem; overflow-wrap: anywhere; }
.inputs img, .inputs video { display: block; max-width: 10rem; max-height: 6rem; }
.inputs .note { color: var(--muted); }
.versions { display: grid; grid-template-columns: 1fr 1fr; gap: .5rem; }
.versions h4 { font-size: .75rem; font-weight: normal; color: var(--muted); margin: 0 0 .2rem; }
.versions .note, .versions .gone { color: var(--muted); font-size: .85rem; margin: .2rem 0 0; }
main.cards { display: grid; gap: 0 1.5rem;
  grid-template-columns: repeat(auto-fill, minmax(20rem, 1fr)); }
"""


def render(gallery: Gallery, hrefs: Hrefs, *, title: str, generated_at: str) -> str:
    profiles = gallery.profiles
    columns = max(len(profiles), 1)
    count = len(gallery.rows)
    summary = (
        f"{count} asset{'s' if count != 1 else ''}"
        + (f" · profiles: {', '.join(profiles)}" if len(profiles) > 1 else "")
        + f" · report made {generated_at}"
    )
    sections = "\n".join(
        _section(address, row, profiles, hrefs) for address, row in gallery.rows.items()
    )
    if not gallery.rows:
        sections = '<p class="absent">Nothing has been applied yet: the state is empty.</p>'
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="wanplan report">
<title>{escape(title)}</title>
<style>{STYLE}.profiles {{ --columns: {columns}; }}</style>
</head>
<body>
<header>
<h1>{escape(title)}</h1>
<p>{escape(summary)}</p>
{_total(gallery.spent)}
</header>
<main{' class="cards"' if columns == 1 else ""}>
{sections}
</main>
</body>
</html>
"""


def _section(address: str, row: dict[str, Entry], profiles: list[str], hrefs: Hrefs) -> str:
    headed = len(profiles) > 1
    cells = "\n".join(_cell(row.get(profile), profile, headed, hrefs) for profile in profiles)
    return (
        f'<section class="asset" id="{escape(anchor(address))}" '
        f'data-address="{escape(address)}">\n'
        f"<h2>{escape(address)}</h2>\n"
        f'<div class="profiles">\n{cells}\n</div>\n</section>'
    )


def _cell(entry: Entry | None, profile: str, headed: bool, hrefs: Hrefs) -> str:
    heading = f"<h3>{escape(profile)}</h3>\n" if headed else ""
    if entry is None:
        return (
            f'<figure class="cell" data-profile="{escape(profile)}" data-state="absent">\n'
            f'{heading}<p class="absent">not generated in this profile</p>\n</figure>'
        )
    state = "present" if entry.present else "missing"
    return (
        f'<figure class="cell" data-profile="{escape(profile)}" data-state="{state}">\n'
        f"{heading}{_versions(entry, hrefs)}\n{inputs_html(entry.inputs, hrefs)}{_details(entry)}\n"
        "</figure>"
    )


def _versions(entry: Entry, hrefs: Hrefs) -> str:
    prompt = entry.parameters.get("prompt")
    return versions_html(_media(entry, hrefs), entry.earlier, prompt, hrefs)


def _media(entry: Entry, hrefs: Hrefs) -> str:
    if entry.source is None:
        return f'<p class="missing">missing: {escape(entry.output_path)}</p>'
    shown = media_html(hrefs[entry.source], entry.extension, entry.address, entry.output_path)
    return f'<div class="media">{shown}</div>'


def _details(entry: Entry) -> str:
    params = entry.parameters
    rows: list[tuple[str, Any]] = [
        ("prompt", params.get("prompt")),
        ("negative", params.get("negative_prompt")),
        ("seed", params.get("seed", "not pinned")),
        ("model", entry.model_id),
        ("provider", entry.provider),
        ("mode", entry.mode),
        ("resolution", params.get("resolution")),
        ("aspect ratio", params.get("aspect_ratio")),
        ("duration", f"{params['duration']} s" if params.get("duration") is not None else None),
        ("cost", _cost(entry)),
        ("spent", spent(entry.spent) if entry.spent.tasks else None),
        ("generated", entry.generated_at),
        ("output", entry.output_path),
    ]
    items = "".join(
        f"<dt>{escape(name)}</dt><dd>{escape(str(value))}</dd>"
        for name, value in rows
        if value is not None
    )
    return f"<dl>{items}</dl>"


def _cost(entry: Entry) -> str:
    if entry.cost is None:
        return "unknown"
    source = f" ({entry.cost_source})" if entry.cost_source else ""
    return f"{format_usd(entry.cost)}{source}"


def _total(tally: Tally) -> str:
    amount = as_decimal_string(tally.total) if tally.tasks else "0.00"
    return (
        f'<p class="spent" data-total-usd="{escape(amount or "unknown")}">'
        f"Spent: {escape(spent(tally))}</p>"
    )


def spent(tally: Tally) -> str:
    """`$1.50 over 3 tasks: $1.00 from the provider, $0.50 estimated, 1 of unknown price`; an
    unknown price is counted, never added as $0."""
    if not tally.tasks:
        return "nothing yet (the ledger records no task)"
    count = f"{tally.tasks} task{'s' if tally.tasks != 1 else ''}"
    parts = []
    if tally.from_provider:
        parts.append(f"{format_usd(tally.from_provider)} from the provider")
    if tally.estimated:
        parts.append(f"{format_usd(tally.estimated)} estimated")
    if tally.unknown:
        parts.append(f"{tally.unknown} of unknown price")
    detail = f": {', '.join(parts)}" if parts else ""
    return f"{format_usd(tally.total)} over {count}{detail}"
