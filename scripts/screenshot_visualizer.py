"""Screenshot Luigi's visualizer during a real backfill (for the README), with headless Chromium.

Usage: python scripts/screenshot_visualizer.py [out.png] [--days 3] [--pipeline content] [--mart article_daily_metrics]
Starts luigid on a free port (state, history and lake/warehouse in a temp dir), runs
`RangeDaily --of RunAll` for the last --days dates with two workers against it (the `luigi`
command, which names each task <pipeline>.<entity|mart>.<Task> in the scheduler), and takes the
dependency graph (the visualizer's D3 view) of one mart on the newest date once part of it is done
and part still to run; then waits for the backfill and stops luigid. Needs Debian's chromium
(`apt-get install chromium`) and the `scheduler` extra.
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
                  "--hide-scrollbars", "--virtual-time-budget=8000",
                  # the D3 graph is drawn at its natural size (no zoom to fit on first load): a page
                  # 1800 px wide holds a mart's six steps; rendered at 0.8, the PNG is 1440 px wide
                  "--window-size=1800,560", "--force-device-scale-factor=0.8"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(port: int, method: str, **data) -> dict:
    query = urllib.parse.quote(json.dumps(data))
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/{method}?data={query}", timeout=5) as resp:
        return json.load(resp)["response"]


def statuses(port: int, task_id: str) -> set[str]:
    """The statuses in the dependency graph of ``task_id`` (empty until the scheduler knows it)."""
    try:
        return {node["status"] for node in api(port, "dep_graph", task_id=task_id, include_done=True).values()}
    except OSError:
        return set()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default=str(REPO / "docs/visualizer.png"))
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--pipeline", default="content")
    parser.add_argument("--mart", default="article_daily_metrics", help="whose dependency graph to show")
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
    stop = dt.datetime.now(dt.timezone.utc).date()
    start = stop - dt.timedelta(days=args.days)
    sys.path.insert(0, str(REPO))
    from workflows.tasks.mart import Mart

    shown = Mart(date=stop - dt.timedelta(days=1), pipeline=args.pipeline, mart=args.mart).task_id
    worker = None
    try:
        time.sleep(2)
        worker = subprocess.Popen(
            [BIN / "luigi", "--module", "workflows", "RangeDaily", "--of", "RunAll", "--start", str(start),
             "--stop", str(stop), "--workers", "2", "--scheduler-host", "127.0.0.1", "--scheduler-port", str(port)],
            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 600
        # part done, part still to run: the graph shows the road's steps in their colours
        while (not {"DONE"} < statuses(port, shown) and worker.poll() is None
               and time.monotonic() < deadline):
            time.sleep(0.1)
        fragment = urllib.parse.urlencode({"tab": "graph", "taskId": shown, "visType": "d3"})
        url = f"http://127.0.0.1:{port}/static/visualiser/index.html#{fragment}"
        subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp}/chrome", f"--screenshot={args.out}", url],
                       check=True, capture_output=True, timeout=120)
        print(f"wrote {args.out} ({url}, backfill {start}..{stop} exclusive; graph of {shown})")
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
