"""The shared CSV writer: formula injection, byte-order mark, unknown lists."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from haven.audit import exports


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx",
                                  '=HYPERLINK("http://x","y")'])
def test_a_text_cell_that_a_spreadsheet_would_evaluate_is_quoted(text: str) -> None:
    assert exports.cell(text) == "'" + text


@pytest.mark.parametrize(("value", "shown"), [
    ("Магомед", "Магомед"), ("a=b", "a=b"), (None, ""), (3, 3), (-2, -2),
    (date(2026, 1, 31), "2026-01-31"), (True, "yes"),
])
def test_other_cells_are_written_as_they_are(value: object, shown: object) -> None:
    assert exports.cell(value) == shown


def test_write_csv_starts_with_a_bom_and_counts_rows() -> None:
    columns = [exports.Column("Name", lambda r: r[0]), exports.Column("N", lambda r: r[1])]
    text, count = exports.write_csv(columns, [("Зарема", 1), ("-x", 2)])
    assert text.startswith("\ufeff")
    assert count == 2
    assert list(csv.reader(io.StringIO(text[1:]))) == [["Name", "N"], ["Зарема", "1"],
                                                        ["'-x", "2"]]


def test_an_unknown_list_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown list"):
        exports.csv_response(actor=None, list_name="people", columns=[], rows=[])
