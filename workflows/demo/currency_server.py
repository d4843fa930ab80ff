"""An in-process currency API on 127.0.0.1: ``GET /currencies`` answers the AdventureWorks
currency records ``{currencycode, name, modifieddate}`` as a JSON array.

The answer carries one realistic defect: a legacy record with a lower-case, two-letter code,
which the pipeline must quarantine. ``RATE_BASE`` is what the generated OLTP database quotes
USD against (its ``sales.currencyrate`` rows), so every rate's currency is served here.
"""
from __future__ import annotations

import os
from http.server import ThreadingHTTPServer

from workflows.demo.http_json import JsonHandler, start_server

MODIFIED = "2008-04-30T00:00:00"
CURRENCIES = (
    ("ARS", "Argentine Peso"), ("AUD", "Australian Dollar"), ("BRL", "Brazilian Real"),
    ("CAD", "Canadian Dollar"), ("CNY", "Yuan Renminbi"), ("DEM", "Deutsche Mark"), ("EUR", "EURO"),
    ("FRF", "French Franc"), ("GBP", "United Kingdom Pound"), ("JPY", "Yen"), ("MXN", "Mexican Peso"),
    ("SAR", "Saudi Riyal"), ("USD", "US Dollar"), ("VEB", "Bolivar"),
)
# USD -> currency, around AdventureWorks' own averages.
RATE_BASE = {
    "ARS": 2.90, "AUD": 1.34, "BRL": 2.19, "CAD": 1.28, "CNY": 8.27, "DEM": 1.99, "EUR": 0.92,
    "FRF": 6.68, "GBP": 0.63, "JPY": 108.30, "MXN": 10.93, "SAR": 3.75, "VEB": 1.02,
}
DEFECT = {"currencycode": "eu", "name": "Euro (legacy code)", "modifieddate": MODIFIED}


def currencies() -> list[dict]:
    """The API's answer: every currency, plus the defective legacy record."""
    return [{"currencycode": c, "name": n, "modifieddate": MODIFIED} for c, n in CURRENCIES] + [DEFECT]


class _Handler(JsonHandler):
    server_version = "CurrencyDemo/1.0"

    def do_GET(self):  # noqa: N802 - http.server API
        if self.path.split("?")[0] == "/currencies":
            self.send_json(200, currencies())
        else:
            self.send_json(404, {"error": self.path})


_running: dict[int, ThreadingHTTPServer] = {}


def base_url() -> str:
    """The base URL of this process's currency API, started on first use."""
    pid = os.getpid()
    if pid not in _running:
        _running[pid] = start_server(_Handler, "currency-demo")
    host, port = _running[pid].server_address[:2]
    return f"http://{host}:{port}"
