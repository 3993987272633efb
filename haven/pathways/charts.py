"""Charts drawn on the server as inline SVG: no JavaScript, no CDN, no inline styles.

Pages are served under a Content-Security-Policy that forbids inline scripts and inline
style attributes, so a chart is plain SVG markup whose look comes from the site's
stylesheet through class names:

``chart`` (the ``<svg>``, plus ``chart-bars`` or ``chart-funnel``), ``chart-title``,
``chart-row`` (one ``<g>`` per row), ``chart-label``, ``chart-bar`` (the ``<rect>``),
``chart-value`` and ``chart-empty``.

The ``<svg>`` has a ``viewBox`` and ``width="100%"`` and no height, so it scales with its
container. Every piece of caller text is escaped (labels are often names of places or
organizations typed by staff) and stripped of characters XML cannot carry, so the output
is always well-formed XML as well as valid HTML.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Final

from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString

WIDTH: Final = 600
# Colours stated in the SVG itself (presentation attributes, which the CSP allows), so that a
# checker and a browser without the stylesheet see the same contrast as everyone: ink and
# muted text are 13.6:1 and 5.5:1 on white, the bars 6.3:1 (WCAG 1.4.3 and 1.4.11). The
# stylesheet uses the same values.
INK: Final = "#1d2a33"
MUTED: Final = "#5b6b73"
BAR: Final = "#256a64"
PAD: Final = 8
TITLE_HEIGHT: Final = 30
ROW_HEIGHT: Final = 26
BAR_HEIGHT: Final = 18
LABEL_WIDTH: Final = 180
VALUE_WIDTH: Final = 120
BAR_X: Final = PAD + LABEL_WIDTH + 8
BAR_SPAN: Final = WIDTH - BAR_X - VALUE_WIDTH - PAD
LABEL_CHARS: Final = 24
TITLE_CHARS: Final = 70
# Past this a number is printed in scientific notation so it still fits its column.
_HUGE: Final = 1e15


def bar_chart(
    rows: Sequence[tuple[str, float]],
    *,
    title: str,
    unit: str = "",
    max_value: float | None = None,
    empty_text: str = "No data",
) -> SafeString:
    """Horizontal bars, one per row, each labelled and followed by its value.

    Bar lengths are proportional to ``value / max_value`` (default: the largest value), so
    several charts can share a scale; values above ``max_value`` fill the bar. Values must
    be finite and non-negative (a count or a duration): anything else is a caller's bug
    and raises ``ValueError`` rather than drawing a misleading bar.
    """
    values = [_checked(value) for _, value in rows]
    if max_value is not None:
        _checked(max_value)
    scale = max_value if max_value is not None else max(values, default=0.0)
    body: list[SafeString] = []
    for index, ((label, _), value) in enumerate(zip(rows, values, strict=True)):
        top = TITLE_HEIGHT + index * ROW_HEIGHT
        width = _bar_width(value, scale)
        shown = _with_unit(_number(value), unit)
        body.append(
            _row(
                label,
                shown,
                top,
                bar_x=BAR_X,
                bar_width=width,
                value_x=BAR_X + width + 6,
            )
        )
    return _svg("chart chart-bars", title, len(rows), body, empty_text)


def funnel_chart(
    stages: Sequence[tuple[str, int]], *, title: str, empty_text: str = "No data"
) -> SafeString:
    """A funnel: one centred bar per stage, with its count and its share of the first stage
    ("80 (67%)"; "—" when the first stage is empty).

    Stages are drawn in the order given (requests → verified → applied → granted → arrived);
    bars are scaled to the largest count, so a later stage larger than the first (which
    happens when people join a case mid-way) still fits and shows more than 100 %.
    """
    counts = [_checked_count(count) for _, count in stages]
    scale = max(counts, default=0)
    first = counts[0] if counts else 0
    body: list[SafeString] = []
    for index, ((label, _), count) in enumerate(zip(stages, counts, strict=True)):
        top = TITLE_HEIGHT + index * ROW_HEIGHT
        width = _bar_width(count, scale)
        share = _percent(count, first)
        body.append(
            _row(
                label,
                f"{_number(count)} ({share})",
                top,
                bar_x=round(BAR_X + (BAR_SPAN - width) / 2, 2),
                bar_width=width,
                value_x=BAR_X + BAR_SPAN + 6,
            )
        )
    return _svg("chart chart-funnel", title, len(stages), body, empty_text)


# -- building blocks -------------------------------------------------------------------


def _svg(
    kind: str, title: str, rows: int, body: list[SafeString], empty_text: str
) -> SafeString:
    height = TITLE_HEIGHT + max(rows, 1) * ROW_HEIGHT + PAD
    heading = _one_line(title)
    children: list[SafeString] = [
        _element("title", {}, heading),
        _element(
            "text",
            {"class": "chart-title", "fill": INK, "x": PAD, "y": TITLE_HEIGHT - 10},
            _truncate(heading, TITLE_CHARS),
        ),
    ]
    if body:
        children.extend(body)
    else:
        children.append(
            _element(
                "text",
                {
                    "class": "chart-empty",
                    "fill": MUTED,
                    "x": WIDTH / 2,
                    "y": TITLE_HEIGHT + ROW_HEIGHT / 2,
                    "text-anchor": "middle",
                    "dominant-baseline": "middle",
                },
                _one_line(empty_text),
            )
        )
    return _element(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "class": kind,
            "role": "img",
            "aria-label": heading,
            "viewBox": f"0 0 {WIDTH} {height}",
            "width": "100%",
            "preserveAspectRatio": "xMinYMin meet",
        },
        *children,
    )


def _row(
    label: str,
    shown: str,
    top: float,
    *,
    bar_x: float,
    bar_width: float,
    value_x: float,
) -> SafeString:
    full = _one_line(label)
    middle = top + ROW_HEIGHT / 2
    return _element(
        "g",
        {"class": "chart-row"},
        _element("title", {}, f"{full}: {shown}"),
        _element(
            "text",
            {
                "class": "chart-label",
                "fill": INK,
                "x": BAR_X - 8,
                "y": middle,
                "text-anchor": "end",
                "dominant-baseline": "middle",
            },
            _truncate(full, LABEL_CHARS),
        ),
        _element(
            "rect",
            {
                "class": "chart-bar",
                "fill": BAR,
                "x": bar_x,
                "y": top + (ROW_HEIGHT - BAR_HEIGHT) / 2,
                "width": bar_width,
                "height": BAR_HEIGHT,
            },
        ),
        _element(
            "text",
            {"class": "chart-value", "fill": MUTED, "x": value_x, "y": middle, "dominant-baseline": "middle"},
            shown,
        ),
    )


def _element(tag: str, attributes: Mapping[str, object], *children: SafeString | str) -> SafeString:
    """One element. Attribute values and text children are escaped here; only markup
    built by this function (a ``SafeString`` child) is inserted as is."""
    attrs = format_html_join(
        "", ' {}="{}"', ((name, _attribute(value)) for name, value in attributes.items())
    )
    if not children:
        return format_html("<{}{} />", tag, attrs)
    inner = format_html_join("", "{}", ((_child(child),) for child in children))
    return format_html("<{}{}>{}</{}>", tag, attrs, inner, tag)


def _child(child: SafeString | str) -> SafeString:
    if isinstance(child, SafeString):
        return child
    return escape(child)


def _attribute(value: object) -> str:
    if isinstance(value, float):
        return _coordinate(value)
    # A plain str (never a SafeString a caller passed in), which format_html will escape.
    return _xml_chars(str(value))


def _coordinate(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def _xml_chars(text: str) -> str:
    """Drop what XML 1.0 cannot carry at all, even escaped: most C0 controls, lone
    surrogates and the two non-characters U+FFFE and U+FFFF."""
    return "".join(
        char
        for char in text
        if char in "\t\n\r"
        or "\x20" <= char <= "\ud7ff"
        or "\ue000" <= char <= "\ufffd"
        or char >= "\U00010000"
    )


def _one_line(text: str) -> str:
    return " ".join(_xml_chars(str(text)).split())


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _checked(value: float) -> float:
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"chart values must be finite and non-negative, not {value!r}")
    return number


def _checked_count(count: int) -> int:
    # Counts stay integers: a count past float range must not overflow on the way.
    number = int(count)
    if number < 0:
        raise ValueError(f"funnel counts must be non-negative, not {count!r}")
    return number


def _bar_width(value: float, scale: float) -> float:
    if scale <= 0:
        return 0.0
    return round(min(value / scale, 1.0) * BAR_SPAN, 2)


def _number(value: float) -> str:
    if isinstance(value, int):
        if value < _HUGE:
            return f"{value:,}"
        digits = str(value)
        return f"{digits[0]}.{digits[1:3]}e+{len(digits) - 1}"
    if value >= _HUGE:
        return f"{value:.3g}"
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _with_unit(number: str, unit: str) -> str:
    unit = _one_line(unit)
    if not unit:
        return number
    return f"{number}{unit}" if unit == "%" else f"{number} {unit}"


def _percent(count: int, first: int) -> str:
    if first <= 0:
        return "—"
    share = Fraction(100 * count, first)  # exact: counts may be past float range
    if 0 < share < 1:
        return "<1%"
    return f"{_number(round(share))}%"

