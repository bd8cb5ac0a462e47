"""Peak memory of the readers facing hostile or oversized files, against a floor measured in the same run.

Each case runs in a fresh Python process (its peak resident memory is the process's own): the floor
reads a small valid CSV; the others hand the readers a 1 GiB CSV (over the size limit) and an XLSX whose
sheet unpacks to about 200 MiB from a few hundred KiB (a zip bomb). Both must be refused with memory
close to the floor, never unpacked or read whole. A 120 MiB CSV, under the default limit (128 MiB),
is read: about what the limit lets a read cost at most.

    python -m benchmarks.refusal_memory [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from qpv_observatory.formatting import format_fr

CHILD = """
import json, resource, sys, time
from pathlib import Path

from qpv_observatory.formatting import format_fr
from qpv_observatory.errors import SourceFileError
from qpv_observatory.readers.delimited import read_delimited
from qpv_observatory.readers.xlsx import read_xlsx_table
path = Path(sys.argv[1])
start = time.perf_counter()
try:
    if path.suffix == ".xlsx":
        read_xlsx_table(path, path.name, ("CODGEO",))
    else:
        read_delimited(path, path.name, ("CODGEO",))
    outcome = "lu"
except SourceFileError as exc:
    outcome = "refusé : " + exc.reason[:70]
print(json.dumps({"seconds": time.perf_counter() - start, "outcome": outcome,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def small_csv(folder: Path) -> Path:
    path = folder / "small.csv"
    path.write_text("CODGEO;LIBGEO;A\n" + "".join(f"QP0{n:05d};Quartier {n};{n},5\n" for n in range(1000)),
                    encoding="utf-8")
    return path


def csv_of(folder: Path, mib: int) -> Path:
    """``mib`` MiB of rows (a real file, not a sparse one: the size check must not depend on how it is stored)."""
    path = folder / f"rows_{mib}.csv"
    row = b"QP079001;Clou Bouchet;45,3\n"
    block = row * ((1 << 20) // len(row))
    with path.open("wb") as out:
        out.write(b"CODGEO;LIBGEO;A\n")
        for _ in range(mib):
            out.write(block)
    return path


def zip_bomb(folder: Path) -> Path:
    path = folder / "bomb.xlsx"
    sheet = (b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
             b'spreadsheetml/2006/main"><sheetData>' + b"<!--" + b" " * (200 << 20) + b"-->"
             + b'<row r="1"><c r="A1" t="inlineStr"><is><t>CODGEO</t></is></c></row></sheetData></worksheet>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                                                'package/2006/content-types"/>')
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    return path


def measure(path: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, help="dossier des fichiers générés (par défaut : temporaire)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = args.workdir or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        cases = {"plancher : CSV valide de 1 000 lignes": small_csv(folder),
                 "CSV de 120 Mio, sous la limite": csv_of(folder, 120),
                 "CSV de 1 Gio": csv_of(folder, 1024),
                 "XLSX piégé (feuille de 200 Mio)": zip_bomb(folder)}
        print(f"fichiers générés en {time.perf_counter() - started:.1f} s")
        results = {name: measure(path) for name, path in cases.items()}
        sizes = {name: path.stat().st_size / 2 ** 20 for name, path in cases.items()}
    floor = next(iter(results.values()))["peak_mib"]
    print("| cas | taille du fichier | issue | mémoire maximale | rapport au plancher | durée |")
    print("|---|---|---|---|---|---|")
    for name, result in results.items():
        print(f"| {name} | {format_fr(sizes[name], 1)} Mio | {result['outcome']} | "
              f"{format_fr(result['peak_mib'], 0)} Mio | {format_fr(result['peak_mib'] / floor, 2)} | "
              f"{format_fr(result['seconds'], 2)} s |")


if __name__ == "__main__":
    main()
