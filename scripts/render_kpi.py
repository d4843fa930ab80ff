"""Render the Summary sheet of a KPI workbook to PNG (for the README): LibreOffice → PDF → pdftoppm.

Usage: python scripts/render_kpi.py [kpi.xlsx] [out.png]
Needs Debian's libreoffice-calc-nogui and poppler-utils (not needed by the pipelines or tests).
Defaults: the newest report under data/lake/reports/kpi, written to docs/kpi_report.png.
The Summary sheet is set to print on one landscape page, so page 1 of the PDF is the picture.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> int:
    reports = sorted((REPO / "data/lake/reports/kpi").glob("ds=*/kpi_*.xlsx"))
    source = Path(argv[0]) if argv else (reports[-1] if reports else None)
    out = Path(argv[1]) if len(argv) > 1 else REPO / "docs/kpi_report.png"
    if source is None or not source.is_file():
        print("no KPI report found: run `make run` first or pass a path", file=sys.stderr)
        return 2
    for tool in ("soffice", "pdftoppm"):
        if not shutil.which(tool):
            print(f"{tool} not found: apt-get install libreoffice-calc-nogui poppler-utils", file=sys.stderr)
            return 2
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "kpi.xlsx"
        shutil.copyfile(source, copy)
        subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", tmp, str(copy)],
                       check=True, capture_output=True, timeout=180)
        subprocess.run(["pdftoppm", "-png", "-r", "90", "-f", "1", "-l", "1", "-singlefile",
                        str(Path(tmp) / "kpi.pdf"), str(out.with_suffix(""))], check=True, timeout=60)
    print(f"wrote {out} from {source}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
