"""Bar charts as inline SVG, drawn on the server: no chart library, no CDN, no script.

Colours come from CSS classes (static/css/monitoring.css), each bar carries a <title> tooltip,
and the SVG scales to its container through its viewBox.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

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


@dataclass(frozen=True)
class Scale:
    """The y axis: its top value and how many equal parts the gridlines cut it into."""

    top: float
    parts: int


def nice_scale(value: float, unit: float = 1) -> Scale:
    """An axis up to the nice_ceiling of `value`, counted in `unit`, with round ticks.

    Quarters of 1 and 2 are round (0.25, 0.5) but quarters of 2.5 and 5 are not (0.625, 1.25:
    labels would show rounded values), so those axes are cut in fifths (0.5, 1).
    """
    top = nice_ceiling(value / unit)
    leading = top / 10 ** math.floor(math.log10(top))
    parts = 5 if any(math.isclose(leading, n) for n in (2.5, 5)) else 4
    return Scale(top * unit, parts)


def count_scale(value: float) -> Scale:
    """A nice_scale for whole numbers (records): no tick between two of them, no "7.5"."""
    scale = nice_scale(value)
    for parts in (scale.parts, 5, 2, 1):
        if (scale.top / parts).is_integer():
            return Scale(scale.top, parts)
    return scale


def duration_scale(seconds: float) -> Scale:
    """A nice_scale in the unit seconds_label shows at the top: ticks fall on round seconds,
    minutes or hours (2 min in steps of 30 s, not 100 s in steps of "1.2 min")."""
    scale = nice_scale(seconds)
    for unit in (60, 3600):
        if scale.top <= unit:
            break
        scale = nice_scale(seconds, unit)
    return scale


def compact(value: float) -> str:
    """1234 -> 1.2k, 5600000 -> 5.6M (in Korean 1.2천, 560만)."""
    for limit, suffix in _abbreviations():
        if abs(value) >= limit:
            return f"{value / limit:.1f}".rstrip("0").rstrip(".") + suffix
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _abbreviations() -> list[tuple[float, str]]:
    # Translators: number abbreviations, largest first, as "power of ten:suffix" pairs
    # separated by spaces. Languages that count in 10⁴ (만) and 10⁸ (억) list those powers.
    return _parsed_abbreviations(pgettext("number abbreviations", "9:B 6:M 3:k"))


@lru_cache(maxsize=16)
def _parsed_abbreviations(pairs: str) -> list[tuple[float, str]]:
    """Parsed once per language: a list page formats a few hundred numbers."""
    split = (pair.partition(":") for pair in pairs.split())
    return [(10.0 ** int(power), suffix) for power, _sep, suffix in split]


def seconds_label(value: float) -> str:
    """A duration on an axis or in a tooltip: "250 ms", "1.5 s", "45 s", "2.5 min", "1.2 h".

    Runs of small flows take well under a second, so the unit follows the size: whole seconds
    would label every tick of such a chart "0 s".
    """
    if value >= 3600:
        return gettext("%(n)s h") % {"n": one_decimal(value / 3600)}
    if value >= 60:
        return gettext("%(n)s min") % {"n": one_decimal(value / 60)}
    if value >= 1 or value <= 0:
        return gettext("%(n)s s") % {"n": one_decimal(value)}
    return gettext("%(n)s ms") % {"n": one_decimal(value * 1000)}


def one_decimal(value: float) -> str:
    """1.25 -> "1.2", 12.0 -> "12": one decimal, none when it would be zero."""
    return f"{value:.1f}".removesuffix(".0")


def bar_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    stacked: bool = False,
    height: int = 180,
    fmt: Callable[[float], str] = compact,
    scale: Callable[[float], Scale] = count_scale,
    tooltips: Sequence[str] | None = None,
) -> SafeString:
    """Grouped (or stacked) bars, one group per label, with a y axis and sparse x labels."""
    count = max(1, len(labels))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, height - TOP - BOTTOM
    axis = scale(_peak(series, stacked, len(labels)))
    slot = plot_w / count
    parts = [_axis(axis, plot_h, fmt), _x_labels(labels, slot, height)]
    for index in range(len(labels)):
        parts.append(_group(index, series, slot, plot_h, axis.top, stacked, fmt, labels, tooltips))
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


def _axis(axis: Scale, plot_h: int, fmt: Callable[[float], str]) -> str:
    lines = []
    for step in range(axis.parts + 1):
        value = axis.top * step / axis.parts
        y = TOP + plot_h - plot_h * step / axis.parts
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
