"""Stage step alone: the one staging engine on a generated GA4 CSV drop and an activity JSONL drop.

Run:  .venv/bin/python bench/bench_stage.py [--sizes 250000,1000000] [--repeat 3]

For each size it generates the files once (content and activity demo generators, their usual
defects), then stages each ``--repeat`` times, each run in a child process so its peak RSS
(``os.wait4`` ru_maxrss) is its own, and prints records/s of the staging itself (wall and CPU
seconds measured around ``engine.stage`` in the child, imports excluded) and peak RSS per size. No database:
the Stage step reads the raw file and writes Parquet + quarantine.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DS = dt.date(2026, 11, 20)
CASES = {"ga4_csv": ("content", "ga4_events"), "api_logs_jsonl": ("activity", "api_logs"),
         "user_activities_jsonl": ("activity", "user_activities")}


def child_stage(case: str, raw: str, out: str) -> None:
    """In the child: stage one file; print its stats as JSON."""
    from workflows import pipelines

    pipeline, entity = CASES[case]
    spec = pipelines.get(pipeline).entity(entity).stage_spec("UTC", 16 << 20)
    from workflows.staging import engine

    t0, c0 = time.perf_counter(), time.process_time()
    stats = engine.stage(spec, raw, f"{out}/staged.parquet", f"{out}/rejects.jsonl", {})
    print(json.dumps({**stats.as_dict(), "stage_seconds": time.perf_counter() - t0,
                      "stage_cpu": time.process_time() - c0}))


def generate(case: str, rows: int, folder: Path) -> Path:
    if case == "ga4_csv":
        from workflows.demo import content_data

        return content_data.write_file("ga4_events", folder, 42, DS, rows)
    from workflows.demo import activity_data

    return activity_data.write_drop(folder, CASES[case][1], 42, DS, rows, 0.02)


def run(case: str, raw: Path, out: Path) -> tuple[float, float, dict]:
    t0 = time.perf_counter()
    env = {**os.environ, "ACTIVITY_BENCH": "1"}
    proc = subprocess.Popen([sys.executable, __file__, "--child", case, str(raw), str(out)], stdout=subprocess.PIPE,
                            text=True, env=env)
    stdout = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    if status != 0:
        raise SystemExit(f"{case} failed")
    stats = json.loads(stdout.strip().splitlines()[-1])
    return stats["stage_seconds"], usage.ru_maxrss / 1024, stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="250000,1000000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--child", nargs=3)
    args = parser.parse_args()
    if args.child:
        child_stage(*args.child)
        return
    unknown = sorted(set(args.cases.split(",")) - set(CASES))
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; known: {', '.join(CASES)}")
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{'case':24} {'rows':>9} {'records/s':>10} {'seconds':>8} {'cpu s':>6} {'peak RSS MiB':>13}  "
          "staged / quarantined")
    with tempfile.TemporaryDirectory(prefix="bench-stage-") as tmp:
        for case in args.cases.split(","):
            for rows in sizes:
                folder = Path(tmp) / f"{case}-{rows}"
                folder.mkdir()
                raw = generate(case, rows, folder)
                results = [run(case, raw, folder) for _ in range(args.repeat)]
                seconds = statistics.median(r[0] for r in results)
                rss = max(r[1] for r in results)
                stats = results[0][2]
                cpu = statistics.median(r[2]["stage_cpu"] for r in results)
                print(f"{case:24} {stats['records']:>9,} {stats['records'] / seconds:>10,.0f} {seconds:>8.2f} {cpu:>6.2f} "
                      f"{rss:>13.0f}  {stats['staged']:,} / {stats['quarantined']:,}", flush=True)


if __name__ == "__main__":
    main()
