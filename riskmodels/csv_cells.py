"""CSV files that are safe to open in a spreadsheet.

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is read as a formula by
Excel, LibreOffice and Google Sheets: a location named `=HYPERLINK(...)` would become a live
link (or worse) in an investor's export. Such a cell gets a leading apostrophe, which the
spreadsheet shows as text (OWASP, "CSV Injection"). Numbers are left as they are: a negative
amount is a number, not a formula.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any, TextIO

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")


def safe_cell(value: object) -> object:
    if not isinstance(value, str) or not value.startswith(FORMULA_STARTS):
        return value
    if NUMBER.fullmatch(value):
        return value
    return "'" + value


class SafeWriter:
    """csv.writer whose rows are made safe cell by cell."""

    def __init__(self, out: TextIO) -> None:
        self._writer = csv.writer(out, lineterminator="\n")

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([safe_cell(cell) for cell in row])
