"""The gallery page: one self-contained HTML file.

Everything the page needs is inside it (CSS, JS) or beside it (images,
thumbnails, by relative links), so it opens from disk with no server and no
network. A Content-Security-Policy allows only its own inline style and
script, by hash, and images from its own folder: were some text from the
folder to slip past escaping, it still could not run or fetch anything.

Layout: a prompt made with several models or seeds gets a comparison grid,
one column per model and one row per seed; every other item is a card in a
flowing grid below.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.resources
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import quote

from openrouter_imagegen.gallery._items import GalleryItem
from openrouter_imagegen.gallery._thumbs import Preview

__all__ = ["render_page"]

_UNKNOWN = "-"


def _asset(name: str) -> str:
    return importlib.resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _csp_hash(text: str) -> str:
    return (
        "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"
    )


def _url(name: str) -> str:
    """A relative URL for the folder-relative path `name`, escaped for an attribute."""
    return escape(quote(name, safe="/"))


@dataclass(frozen=True)
class _Comparison:
    prompt: str
    models: list[str | None]
    seeds: list[int | None]
    items: list[GalleryItem]


def _layout(items: Sequence[GalleryItem]) -> tuple[list[_Comparison], list[GalleryItem]]:
    """Split the items into comparisons (one per prompt made several ways) and the rest."""
    by_prompt: dict[str, list[GalleryItem]] = {}
    for item in items:
        if item.prompt is not None:
            by_prompt.setdefault(item.prompt, []).append(item)
    comparisons = []
    compared: set[int] = set()
    for prompt, group in by_prompt.items():
        models = list(dict.fromkeys(item.model for item in group))
        seeds = list(dict.fromkeys(item.seed for item in group))
        if len(models) > 1 or len(seeds) > 1:
            comparisons.append(_Comparison(prompt, models, seeds, group))
            compared.update(id(item) for item in group)
    return comparisons, [item for item in items if id(item) not in compared]


def render_page(title: str, items: Sequence[GalleryItem], preview: Callable[[str], Preview]) -> str:
    """The page for `items`; `preview` tells how to show each image file."""
    style = _asset("page.css")
    script = _asset("page.js")
    policy = (
        f"default-src 'none'; img-src 'self' data:; style-src {_csp_hash(style)}; "
        f"script-src {_csp_hash(script)}; base-uri 'none'; form-action 'none'"
    )
    comparisons, rest = _layout(items)
    sections = [_comparison(c, preview) for c in comparisons]
    if rest:
        heading = "Other images" if comparisons else "Images"
        cards = "\n".join(_card(item, preview, show_prompt=True) for item in rest)
        sections.append(
            f'<section>\n<h2>{heading}</h2>\n<div class="cards">\n{cards}\n</div>\n</section>'
        )
    if not items:
        sections.append('<p class="empty">No images in this folder.</p>')
    body = "\n".join(sections)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{escape(policy)}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<link rel="icon" href="data:,">
<style>{style}</style>
</head>
<body>
<header>
<h1>{escape(title)}</h1>
<p class="summary">{escape(_summary(items))}</p>
{_filters(items)}
</header>
<main>
{body}
</main>
<script>{script}</script>
</body>
</html>
"""


def _summary(items: Sequence[GalleryItem]) -> str:
    statuses = _counts(item.status for item in items)
    costs = [item.cost_usd for item in items if item.cost_usd is not None]
    parts = [f"{len(items)} items", *(f"{n} {status}" for status, n in statuses.items())]
    if costs:
        parts.append(f"cost {_money(sum(costs))}")
    return " · ".join(parts)


def _counts(values: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


def _filters(items: Sequence[GalleryItem]) -> str:
    models = _counts(item.model or "" for item in items)
    statuses = _counts(item.status for item in items)
    return "\n".join(
        [
            '<div class="filters">',
            _filter_set("Model", "model", models),
            _filter_set("Status", "status", statuses),
            f'<output id="shown">{len(items)} of {len(items)} shown</output>',
            "</div>",
        ]
    )


def _filter_set(legend: str, kind: str, counts: dict[str, int]) -> str:
    boxes = "\n".join(
        f'<label><input type="checkbox" data-filter="{kind}" value="{escape(value)}" checked> '
        f"{escape(value or 'unknown')} ({n})</label>"
        for value, n in counts.items()
    )
    return f"<fieldset><legend>{legend}</legend>\n{boxes}\n</fieldset>"


def _comparison(comparison: _Comparison, preview: Callable[[str], Preview]) -> str:
    head = "".join(
        f'<th scope="col">{escape(model or "unknown model")}</th>' for model in comparison.models
    )
    rows = []
    for seed in comparison.seeds:
        cells = []
        for model in comparison.models:
            cards = [
                _card(item, preview, show_prompt=False)
                for item in comparison.items
                if item.model == model and item.seed == seed
            ]
            cells.append(f"<td>{''.join(cards)}</td>")
        label = "no seed" if seed is None else f"seed {seed}"
        rows.append(f'<tr><th scope="row">{label}</th>{"".join(cells)}</tr>')
    return (
        f'<section class="comparison">\n<h2>{escape(comparison.prompt)}</h2>\n'
        f'<table class="grid">\n<thead><tr><th scope="col">seed \\ model</th>{head}</tr></thead>\n'
        f"<tbody>\n{chr(10).join(rows)}\n</tbody>\n</table>\n</section>"
    )


def _card(item: GalleryItem, preview: Callable[[str], Preview], *, show_prompt: bool) -> str:
    failed = " failed" if item.status == "failed" else ""
    parts = [
        f'<article class="card{failed}" data-model="{escape(item.model or "")}" '
        f'data-status="{escape(item.status)}">',
        _pictures(item, preview),
    ]
    if show_prompt and item.prompt is not None:
        parts.append(f'<p class="prompt" title="{escape(item.prompt)}">{escape(item.prompt)}</p>')
    facts = [
        ("model", escape(item.model or _UNKNOWN)),
        ("seed", _UNKNOWN if item.seed is None else str(item.seed)),
        ("cost", _UNKNOWN if item.cost_usd is None else _money(item.cost_usd)),
        ("latency", _UNKNOWN if item.latency_s is None else f"{item.latency_s:.1f} s"),
        (
            "status",
            f'<span class="status status-{escape(item.status)}">{escape(item.status)}</span>',
        ),
        ("parameters", escape(_parameters(item.parameters)) or _UNKNOWN),
    ]
    rows = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in facts)
    parts.append(f'<dl class="facts">{rows}</dl>')
    if item.error:
        parts.append(f'<p class="error">{escape(item.error)}</p>')
    if item.notes:
        notes = "".join(f"<li>{escape(note)}</li>" for note in item.notes)
        parts.append(f'<ul class="notes">{notes}</ul>')
    if item.files:
        parts.append(f'<p class="file">{escape(", ".join(item.files))}</p>')
    parts.append("</article>")
    return "\n".join(parts)


def _pictures(item: GalleryItem, preview: Callable[[str], Preview]) -> str:
    if not item.files:
        reason = "failed: no image" if item.status == "failed" else f"{item.status}: no image"
        return f'<div class="images"><div class="noimage">{escape(reason)}</div></div>'
    shown = []
    for name in item.files:
        alt = escape(item.prompt or name)
        seen = preview(name)
        if seen.src is None:
            shown.append(f'<div class="noimage">{escape(seen.problem or "no preview")}</div>')
            continue
        size = "" if seen.width is None else f' width="{seen.width}" height="{seen.height}"'
        image = f'<img src="{_url(seen.src)}" alt="{alt}" loading="lazy" decoding="async"{size}>'
        if seen.linked:
            title = escape(name)
            shown.append(f'<a href="{_url(name)}" title="{title}">{image}</a>')
        else:
            note = escape(f"{name}: holds scripts, so it is not linked")
            shown.append(f'<span class="picture" title="{note}">{image}</span>')
    return f'<div class="images">{"".join(shown)}</div>'


def _parameters(parameters: Mapping[str, Any]) -> str:
    return ", ".join(
        f"{name}={value if isinstance(value, str) else json.dumps(value)}"
        for name, value in parameters.items()
    )


def _money(usd: float) -> str:
    return f"${usd:.4f}"
