"""Bar charts as inline SVG, drawn on the server: no chart library, no CDN, no script.

Colours come from CSS classes (static/css/monitoring.css), each bar carries a <title> tooltip,
and the SVG scales to its container through its viewBox.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, pgettext

WIDTH = 760
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 10, 24
MAX_LABELS = 10


@dataclass(frozen=True)
class Series:
    key: str  # CSS class suffix: s-<key>
    label: str
    values: Sequence[float]


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k that is at least `value` (1 for nothing)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def compact(value: float) -> str:
    """1234 -> 1.2k, 5600000 -> 5.6M (in Korean 1.2천, 560만)."""
    for limit, suffix in _abbreviations():
        if abs(value) >= limit:
            return f"{value / limit:.1f}".rstrip("0").rstrip(".") + suffix
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _abbreviations() -> list[tuple[float, str]]:
    # Translators: number abbreviations, largest first, as "power of ten:suffix" pairs
    # separated by spaces. Languages that count in 10⁴ (만) and 10⁸ (억) list those powers.
    pairs = pgettext("number abbreviations", "9:B 6:M 3:k").split()
    split = (pair.partition(":") for pair in pairs)
    return [(10.0 ** int(power), suffix) for power, _sep, suffix in split]


def seconds_label(value: float) -> str:
    if value >= 3600:
        return gettext("%(n).1f h") % {"n": value / 3600}
    if value >= 60:
        return gettext("%(n).1f min") % {"n": value / 60}
    return gettext("%(n)d s") % {"n": value}


def bar_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    stacked: bool = False,
    height: int = 180,
    fmt: Callable[[float], str] = compact,
    tooltips: Sequence[str] | None = None,
) -> SafeString:
    """Grouped (or stacked) bars, one group per label, with a y axis and sparse x labels."""
    count = max(1, len(labels))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, height - TOP - BOTTOM
    top = nice_ceiling(_peak(series, stacked, len(labels)))
    slot = plot_w / count
    parts = [_axis(top, plot_h, fmt), _x_labels(labels, slot, height)]
    for index in range(len(labels)):
        parts.append(_group(index, series, slot, plot_h, top, stacked, fmt, labels, tooltips))
    body = "".join(parts)
    return mark_safe(  # noqa: S308 - every piece of text in `body` went through escape()
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="{escape(title)}">{body}</svg>'
    )


def _peak(series: Sequence[Series], stacked: bool, length: int) -> float:
    if not series or not length:
        return 0.0
    if stacked:
        return max(sum(s.values[i] for s in series) for i in range(length))
    return max(max(s.values, default=0) for s in series)


def _axis(top: float, plot_h: int, fmt: Callable[[float], str]) -> str:
    lines = []
    for step in range(5):
        value = top * step / 4
        y = TOP + plot_h - plot_h * step / 4
        lines.append(
            f'<line class="gridline" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(fmt(value))}</text>"
        )
    return "".join(lines)


def _x_labels(labels: Sequence[str], slot: float, height: int) -> str:
    every = max(1, math.ceil(len(labels) / MAX_LABELS))
    texts = []
    for index, label in enumerate(labels):
        if index % every:
            continue
        x = LEFT + slot * index + slot / 2
        texts.append(
            f'<text class="axis" x="{x:.1f}" y="{height - 6}" text-anchor="middle">'
            f"{escape(label)}</text>"
        )
    return "".join(texts)


def _group(index, series, slot, plot_h, top, stacked, fmt, labels, tooltips) -> str:
    gap = slot * 0.2
    inner = slot - gap
    width = inner if stacked else inner / max(1, len(series))
    x0 = LEFT + slot * index + gap / 2
    base = TOP + plot_h
    rects = []
    for position, s in enumerate(series):
        value = s.values[index]
        bar_h = plot_h * value / top if top else 0
        x = x0 if stacked else x0 + width * position
        y = base - bar_h
        tip = f"{labels[index]} · {s.label}: {fmt(value)}"
        if tooltips:
            tip = f"{tooltips[index]} · {s.label}: {fmt(value)}"
        rects.append(
            f'<rect class="s-{s.key}" x="{x:.1f}" y="{y:.1f}" width="{max(width, 1):.1f}" '
            f'height="{bar_h:.1f}"><title>{escape(tip)}</title></rect>'
        )
        if stacked:
            base = y
    return "".join(rects)
