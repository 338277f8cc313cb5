"""Spreadsheet-safe text cells for every CSV the tool writes.

Spreadsheet programs treat a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and, in
some, a leading tab or carriage return) as a formula, so a note such as ``=HYPERLINK(...)``
typed by a user would run when a coach opens the export ("CSV injection", OWASP). Every
free-text cell (notes, exercise names, file names) goes through `safe_cell`; numbers are
written by the writers themselves and never pass through here, so ``-3.5`` stays a number.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

#: First characters that make a spreadsheet read a cell as a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
#: Prefix that makes the cell plain text in Excel, LibreOffice and Google Sheets.
TEXT_PREFIX = "'"


def safe_cell(text: str | None) -> str:
    """``text`` as a cell no spreadsheet evaluates: formula-like text gets a leading ``'``.

    None becomes an empty cell. Quoting of commas and quotes is left to the `csv` module.
    """
    if text is None:
        return ""
    return TEXT_PREFIX + text if text.startswith(FORMULA_TRIGGERS) else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A header and rows as CSV text with ``\\n`` line ends (the form every export uses)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()
