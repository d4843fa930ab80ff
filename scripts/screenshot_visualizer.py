"""Screenshot Luigi's visualizer during a real backfill (for the README), with headless Chromium.

Usage: python scripts/screenshot_visualizer.py [out.png] [--days 4]
Starts luigid on a free port (state, history and lake/warehouse in a temp dir), runs
`RangeDaily --of RunAll` for the last --days dates with two workers against it, takes
the screenshot while tasks are running, waits for the backfill, stops luigid.
Needs Debian's chromium (`apt-get install chromium`) and the `scheduler` extra.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--window-size=1500,950", "--virtual-time-budget=8000"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def running_tasks(port: int) -> int:
    query = urllib.parse.quote(json.dumps({"status": "RUNNING", "upstream_status": "", "search": ""}))
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/task_list?data={query}", timeout=5) as resp:
        return len(json.load(resp)["response"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default=str(REPO / "docs/visualizer.png"))
    parser.add_argument("--days", type=int, default=4)
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("chromium not found: apt-get install chromium", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="visualizer-"))
    port = free_port()
    (tmp / "cfg").write_text(
        f"[scheduler]\nrecord_task_history = true\nmetrics_collector = prometheus\nstate_path = {tmp}/state.pickle\n"
        f"[task_history]\ndb_connection = sqlite:///{tmp}/history.db\n"
        f"[lake]\nroot = {tmp}/lake\n[warehouse]\npgdata = {tmp}/pg\n[worker]\nkeep_alive = true\n")
    env = {**os.environ, "LUIGI_CONFIG_PATH": str(tmp / "cfg")}
    luigid = subprocess.Popen([BIN / "luigid", "--address", "127.0.0.1", "--port", str(port), "--logdir", str(tmp)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stop = dt.date.today()
    start = stop - dt.timedelta(days=args.days)
    worker = None
    try:
        time.sleep(2)
        worker = subprocess.Popen(
            [BIN / "luigi", "--module", "workflows", "RangeDaily", "--of", "RunAll", "--start", str(start),
             "--stop", str(stop), "--workers", "2", "--scheduler-host", "127.0.0.1", "--scheduler-port", str(port)],
            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 300
        while running_tasks(port) == 0 and worker.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(3)  # let a few tasks finish so the graph shows done, running and pending
        url = f"http://127.0.0.1:{port}/static/visualiser/index.html"
        subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp}/chrome", f"--screenshot={args.out}", url],
                       check=True, capture_output=True, timeout=120)
        print(f"wrote {args.out} ({url}, backfill {start}..{stop} exclusive)")
        worker.wait(timeout=900)
    finally:
        if worker is not None and worker.poll() is None:
            worker.terminate()
        luigid.terminate()
        luigid.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
