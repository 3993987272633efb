from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest
from django.utils.safestring import SafeString
from hypothesis import given, settings
from hypothesis import strategies as st

from haven.pathways.charts import BAR_SPAN, bar_chart, funnel_chart

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)  # noqa: S314 - our own output, parsed to check it is well-formed


def bars(root: ET.Element) -> list[ET.Element]:
    return [el for el in root.iter(f"{SVG}rect") if "chart-bar" in el.get("class", "").split()]


def texts(root: ET.Element, cls: str) -> list[str]:
    return [el.text or "" for el in root.iter(f"{SVG}text") if el.get("class") == cls]


def test_bar_chart_is_an_accessible_scalable_svg() -> None:
    markup = bar_chart([("Canada", 120), ("Germany", 60)], title="Days to decision", unit="days")
    root = parse(markup)

    assert isinstance(markup, SafeString)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("aria-label") == "Days to decision"
    assert root.get("width") == "100%"
    assert root.get("height") is None
    assert root.get("viewBox", "").startswith("0 0 ")
    assert root.find(f"{SVG}title") is not None
    assert root.findtext(f"{SVG}title") == "Days to decision"
    assert texts(root, "chart-label") == ["Canada", "Germany"]
    assert texts(root, "chart-value") == ["120 days", "60 days"]


def test_no_script_and_no_inline_style() -> None:
    markup = bar_chart([("a", 1)], title="t") + funnel_chart([("a", 1)], title="t")

    assert "<script" not in markup
    assert "style=" not in markup
    assert "on" not in {attr[:2] for el in parse(f"<x>{markup}</x>").iter() for attr in el.attrib}


def test_bar_widths_are_proportional_to_values() -> None:
    root = parse(bar_chart([("a", 100), ("b", 50), ("c", 25), ("d", 0)], title="t"))
    widths = [float(bar.get("width", "nan")) for bar in bars(root)]

    assert widths == [BAR_SPAN, BAR_SPAN / 2, BAR_SPAN / 4, 0]


def test_max_value_sets_the_scale_and_caps_bars() -> None:
    root = parse(bar_chart([("a", 50), ("b", 400)], title="t", max_value=200))
    widths = [float(bar.get("width", "nan")) for bar in bars(root)]

    assert widths == [BAR_SPAN / 4, BAR_SPAN]


def test_labels_are_escaped() -> None:
    markup = bar_chart([("<script>alert(1)</script>", 3)], title='"Bad" & <b>', unit="<i>")

    assert "<script>" not in markup
    assert "&lt;script&gt;" in markup
    root = parse(markup)
    assert root.get("aria-label") == '"Bad" & <b>'
    assert root.find(f".//{SVG}g/{SVG}title") is not None
    assert root.findtext(f".//{SVG}g/{SVG}title") == "<script>alert(1)</script>: 3 <i>"


def test_a_safe_string_label_is_escaped_too() -> None:
    markup = bar_chart([(SafeString("&nbsp;<b>x</b>"), 1)], title=SafeString("<b>t</b>"))

    assert parse(markup).findtext(f".//{SVG}g/{SVG}title") == "&nbsp;<b>x</b>: 1"


def test_long_labels_are_truncated_with_full_text_in_title() -> None:
    label = "Rainbow Refugee Assistance Partnership (private sponsorship)"
    root = parse(bar_chart([(label, 5)], title="t"))

    shown = texts(root, "chart-label")[0]
    assert shown.endswith("…")
    assert len(shown) < len(label)
    assert root.findtext(f".//{SVG}g/{SVG}title") == f"{label}: 5"


@pytest.mark.parametrize("chart", ["bar", "funnel"])
def test_empty_data_says_no_data(chart: str) -> None:
    markup = bar_chart([], title="t") if chart == "bar" else funnel_chart([], title="t")
    root = parse(markup)

    assert bars(root) == []
    assert texts(root, "chart-empty") == ["No data"]


def test_empty_text_can_be_translated_by_the_caller() -> None:
    assert texts(parse(bar_chart([], title="t", empty_text="Нет данных")), "chart-empty") == [
        "Нет данных"
    ]


def test_all_zero_values_draw_empty_bars() -> None:
    root = parse(bar_chart([("a", 0), ("b", 0)], title="t"))

    assert [bar.get("width") for bar in bars(root)] == ["0", "0"]


def test_huge_numbers_are_printed_compactly() -> None:
    root = parse(bar_chart([("a", 1e300), ("b", 1234567)], title="t"))

    assert texts(root, "chart-value") == ["1e+300", "1,234,567"]
    assert [float(bar.get("width", "nan")) for bar in bars(root)] == [BAR_SPAN, 0]


def test_negative_or_non_finite_values_are_refused() -> None:
    for value in (-1.0, math.nan, math.inf):
        with pytest.raises(ValueError, match="non-negative"):
            bar_chart([("a", value)], title="t")
    with pytest.raises(ValueError, match="non-negative"):
        funnel_chart([("a", -3)], title="t")


def test_funnel_shows_counts_and_share_of_first_stage() -> None:
    stages = [("Requests", 200), ("Verified", 150), ("Applied", 50), ("Granted", 1), ("Arrived", 0)]
    root = parse(funnel_chart(stages, title="From request to arrival"))

    assert texts(root, "chart-value") == ["200 (100%)", "150 (75%)", "50 (25%)", "1 (<1%)", "0 (0%)"]
    widths = [float(bar.get("width", "nan")) for bar in bars(root)]
    assert widths == sorted(widths, reverse=True)
    assert widths[1] == BAR_SPAN * 0.75
    # Centred: every bar has the same middle.
    middles = {float(bar.get("x", "nan")) + float(bar.get("width", "nan")) / 2 for bar in bars(root)}
    assert len(middles) == 1


def test_funnel_with_empty_first_stage_and_huge_counts() -> None:
    root = parse(funnel_chart([("a", 0), ("b", 0)], title="t"))
    assert texts(root, "chart-value") == ["0 (—)", "0 (—)"]

    root = parse(funnel_chart([("a", 10**400), ("b", 10**399)], title="t"))
    assert texts(root, "chart-value") == ["1.00e+400 (100%)", "1.00e+399 (10%)"]


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.text(), st.floats(min_value=0, allow_nan=False, allow_infinity=False)),
        max_size=30,
    ),
    title=st.text(),
    unit=st.text(max_size=10),
)
def test_any_rows_give_valid_xml_with_one_bar_per_row(
    rows: list[tuple[str, float]], title: str, unit: str
) -> None:
    root = parse(bar_chart(rows, title=title, unit=unit))

    assert len(bars(root)) == len(rows)
    for bar in bars(root):
        assert 0 <= float(bar.get("width", "nan")) <= BAR_SPAN


@settings(max_examples=100, deadline=None)
@given(stages=st.lists(st.tuples(st.text(), st.integers(min_value=0)), max_size=20))
def test_any_stages_give_valid_xml_with_one_bar_per_stage(stages: list[tuple[str, int]]) -> None:
    assert len(bars(parse(funnel_chart(stages, title="t")))) == len(stages)


def test_charts_state_their_colours_in_the_svg() -> None:
    """Contrast must be determinable without the stylesheet (issue 16): every text and bar
    carries its fill."""
    root = parse(bar_chart([("Lithuania", 3), ("Canada", 1)], title="Approvals"))
    kinds = {"chart-title", "chart-label", "chart-value", "chart-bar"}
    found = {el.get("class"): el.get("fill") for el in root.iter() if el.get("class") in kinds}
    assert set(found) == kinds
    assert all(fill and fill.startswith("#") and len(fill) == 7 for fill in found.values()), found
