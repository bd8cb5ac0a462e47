"""Empty forms for contract targets, written by ``qpv-observatory targets-template``.

CSV templates hold the header only (';', UTF-8 with BOM so that Excel shows the accents); XLSX
templates add a "notice" sheet describing every column.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from qpv_observatory.representativity import PARTNER_FORM
from qpv_observatory.targets import CONTRACT_FORM, TARGET_FORM
from qpv_observatory.workbooks import keep_texts_as_text

TEMPLATES = {"contrats": CONTRACT_FORM, "cibles": TARGET_FORM, "remontees_partenaires": PARTNER_FORM}
FORMATS = ("csv", "xlsx")


# Columns that Excel would otherwise turn into numbers or dates ("1.3.10", "3-1", "79191").
TEXT_COLUMNS = ("contrat", "objectif", "territoire", "dispositif")
TEXT_ROWS = 500  # rows pre-formatted as text below the header


def _as_text(sheet, form: dict[str, str]) -> None:
    for position, column in enumerate(form, start=1):
        if column in TEXT_COLUMNS:
            for row in range(2, TEXT_ROWS + 2):
                sheet.cell(row=row, column=position).number_format = "@"


def write_templates(folder: Path, file_format: str = "csv") -> list[Path]:
    if file_format not in FORMATS:
        raise ValueError(f"format {file_format!r} inconnu ; formats : {', '.join(FORMATS)}")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, form in TEMPLATES.items():
        path = folder / f"{name}.{file_format}"
        if path.exists():
            raise FileExistsError(f"{path} existe déjà : le modèle n'écrase jamais un fichier rempli")
        if file_format == "csv":
            path.write_text(";".join(form) + "\n", encoding="utf-8-sig")
        else:
            with pd.ExcelWriter(path, engine="openpyxl") as workbook:
                pd.DataFrame(columns=list(form)).to_excel(workbook, sheet_name=name, index=False)
                _as_text(workbook.sheets[name], form)
                notice = pd.DataFrame({"colonne": list(form), "contenu": list(form.values())})
                notice.to_excel(workbook, sheet_name="notice", index=False)
                keep_texts_as_text(workbook.sheets["notice"])
        written.append(path)
    return written
