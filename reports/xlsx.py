"""Deterministic .xlsx bytes: the same workbook content gives the same bytes, whenever it is saved.

openpyxl stamps ``docProps/core.xml`` with the save time (created / modified)
and the zip entries with the local clock. ``workbook_bytes`` saves the workbook,
then rewrites the archive with those stamps fixed to ``stamp`` (a date the
content is about, e.g. the ds) and every entry dated 1980-01-01, in openpyxl's
entry order. Excel and LibreOffice read the result as any openpyxl file.
"""
from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

from openpyxl import Workbook

_CORE = "docProps/core.xml"
_STAMPED = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")
_EPOCH = (1980, 1, 1, 0, 0, 0)


def workbook_bytes(wb: Workbook, stamp: dt.date) -> bytes:
    """The workbook as .xlsx bytes with no wall-clock time in them."""
    iso = f"{stamp.isoformat()}T00:00:00Z".encode()
    wb.properties.created = dt.datetime.combine(stamp, dt.time())
    raw = io.BytesIO()
    wb.save(raw)
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == _CORE:
                data = _STAMPED.sub(lambda m: m.group(1) + iso + m.group(3), data)
            info = zipfile.ZipInfo(item.filename, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            dst.writestr(info, data)
    return out.getvalue()
