"""Render the Summary sheet of a DQ workbook to PNG (for the README): LibreOffice → PDF → pdftoppm.

Usage: python scripts/render_report.py [report.xlsx] [out.png]
Needs Debian's libreoffice-calc-nogui and poppler-utils (not needed by the pipelines or tests).
Defaults: the newest report under data/lake/reports/dq, written to docs/dq_summary.png.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import openpyxl

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> int:
    reports = sorted((REPO / "data/lake/reports/dq").glob("ds=*/dq_report_*.xlsx"))
    source = Path(argv[0]) if argv else (reports[-1] if reports else None)
    out = Path(argv[1]) if len(argv) > 1 else REPO / "docs/dq_summary.png"
    if source is None or not source.is_file():
        print("no report found: run `make run` first or pass a path", file=sys.stderr)
        return 2
    for tool in ("soffice", "pdftoppm"):
        if not shutil.which(tool):
            print(f"{tool} not found: apt-get install libreoffice-calc-nogui poppler-utils", file=sys.stderr)
            return 2
    with tempfile.TemporaryDirectory() as tmp:
        wb = openpyxl.load_workbook(source)
        for name in wb.sheetnames[1:]:  # keep only Summary
            del wb[name]
        ws = wb["Summary"]
        ws.page_setup.orientation, ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = "landscape", 1, 1
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        summary = Path(tmp) / "summary.xlsx"
        wb.save(summary)
        subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", tmp, str(summary)],
                       check=True, capture_output=True, timeout=180)
        subprocess.run(["pdftoppm", "-png", "-r", "130", "-f", "1", "-l", "1", "-singlefile",
                        str(Path(tmp) / "summary.pdf"), str(out.with_suffix(""))], check=True, timeout=60)
    print(f"wrote {out} from {source}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
