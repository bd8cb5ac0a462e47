"""How fast the command line answers a mistake, before anything heavy is loaded (target: under 2 s),
against a floor measured in the same run: the interpreter starting and exiting.

    python -m benchmarks.cli_answers
"""

from __future__ import annotations

import subprocess
import sys
import time

from qpv_observatory.formatting import format_fr

CASES = {
    "plancher : python -c pass": [sys.executable, "-c", "pass"],
    "option mal orthographiée (--vintge)": [sys.executable, "-m", "qpv_observatory.cli", "run", "--vintge", "2018"],
    "dossier absent (--raw-dir)": [sys.executable, "-m", "qpv_observatory.cli", "run", "--raw-dir", "/dossier/absent"],
    "millésime absent (--millesime 1999)": [sys.executable, "-m", "qpv_observatory.cli", "run", "--millesime", "1999"],
    "catalogue absent (--catalogue-dir)": [sys.executable, "-m", "qpv_observatory.cli", "run", "--catalogue-dir",
                                           "/catalogue/absent"],
}


def main() -> None:
    seconds = {}
    for name, command in CASES.items():
        runs = []
        for _ in range(3):
            start = time.perf_counter()
            subprocess.run(command, capture_output=True, check=False)
            runs.append(time.perf_counter() - start)
        seconds[name] = sorted(runs)[1]  # the median of three
    floor = next(iter(seconds.values()))
    print("| cas | réponse (médiane de 3) | rapport au plancher |")
    print("|---|---|---|")
    for name, value in seconds.items():
        print(f"| {name} | {format_fr(value, 2)} s | {format_fr(value / floor, 1)} |")


if __name__ == "__main__":
    main()
