"""Workbooks the project writes (contract report, target forms): a cell's text is never a formula.

openpyxl stores a text that starts with ``=`` as a formula: a QPV name or an indicator label written
``=HYPERLINK("http://…","…")`` would become a live link or computation in the evaluators' Excel
(formula injection). Texts starting with ``+``, ``-``, ``@``, a tab or a carriage return are stored
as text cells already, which Excel does not evaluate on opening.
"""

from __future__ import annotations


def keep_texts_as_text(sheet) -> int:
    """Store every formula cell of a sheet written from data as the text it is; returns how many."""
    changed = 0
    for row in sheet.iter_rows():
        for cell in row:
            if cell.data_type == "f":
                cell.data_type = "s"
                changed += 1
    return changed
