"""Activity pipeline benchmark: one generated day (default 2,000,000 JSONL lines) through every stage.

Run:  cd /work/main && .venv/bin/python bench/bench_activity.py [--lines N] [--defect-rate R]
                                                              [--dsn URI]

It generates the day's two drops (``--lines`` in total, half activity events, half
API logs) into a temp landing folder, starts an embedded PostgreSQL in the same temp
dir (or uses --dsn: a SCRATCH database), then runs the stages one after the other,
each in its own child process (``--step``): Extract, Stage, Load, Mart (8 marts),
Export. For each it prints seconds, input lines per second, the child's peak RSS
(``os.wait4``'s ru_maxrss; PostgreSQL's own memory is not included) and CPU seconds: the
child's (user + system) and, with the embedded server, PostgreSQL's (the postmaster and the
backends it reaped, read from /proc by psutil; other work on the machine is not counted). It checks that
staged + quarantined = lines and that every count mart sums to its staged rows.
The temp dir goes away at exit.
"""
from __future__ import annotations

import argparse
import atexit
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DS = dt.date(2026, 11, 20)
ENTITIES = ("user_activities", "api_logs")
STEPS = ("extract", "stage", "load", "mart", "export")

def step_tasks(step: str) -> list:
    from workflows import Extract, Load, Mart, Stage
    from workflows.pipelines.activity import MARTS
    from workflows.tasks.export import Export

    make = {"extract": Extract, "stage": Stage, "load": Load}
    if step in make:
        return [make[step](date=DS, pipeline="activity", entity=e) for e in ENTITIES]
    if step == "mart":
        return [Mart(date=DS, pipeline="activity", mart=m) for m in MARTS]
    return [Export(date=DS, pipeline="activity")]

def run_step(step: str) -> int:
    """Child process: run one step's tasks (their inputs are done already)."""
    import luigi

    ok = luigi.build(step_tasks(step), local_scheduler=True, workers=1, log_level="WARNING")
    return 0 if ok else 1

def server_cpu(pgdata: Path) -> float | None:
    """CPU seconds of the embedded PostgreSQL so far: the postmaster, its live children and the
    backends it reaped (None with --dsn)."""
    import psutil

    pid_file = pgdata / "postmaster.pid"
    if not pid_file.is_file():
        return None
    master = psutil.Process(int(pid_file.read_text().split()[0]))
    procs = [master, *master.children(recursive=True)]
    total = 0.0
    for proc in procs:
        try:
            t = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system + (t.children_user + t.children_system if proc is master else 0.0)
    return total


def child(step: str, cfg: Path, pgdata: Path) -> tuple[float, int, float, float | None]:
    """(seconds, peak RSS in MiB, child CPU seconds, server CPU seconds) of one step run in a child process."""
    env = {**os.environ, "LUIGI_CONFIG_PATH": str(cfg)}
    pg0 = server_cpu(pgdata)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, "--step", step], env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    pg1 = server_cpu(pgdata)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"FAIL: step {step} exited {proc.returncode}")
    pg = None if pg0 is None or pg1 is None else pg1 - pg0
    return seconds, usage.ru_maxrss // 1024, usage.ru_utime + usage.ru_stime, pg

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=2_000_000, help="lines in the day, both files together")
    ap.add_argument("--defect-rate", type=float, default=0.02)
    ap.add_argument("--dsn", default="", help="a SCRATCH database instead of an embedded one")
    ap.add_argument("--step", choices=STEPS, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.step:
        return run_step(args.step)

    import psycopg2

    from workflows import warehouse
    from workflows.demo import activity_data

    workdir = Path(tempfile.mkdtemp(prefix="bench_activity_"))
    os.chmod(workdir, 0o755)  # when run as root, pgserver runs postgres as another user
    atexit.register(shutil.rmtree, workdir, True)  # registered first: runs after pgserver's stop
    dsn = args.dsn or warehouse.embedded_dsn(workdir / "pgdata")
    per_file = args.lines // 2

    t0 = time.perf_counter()
    for entity in ENTITIES:
        activity_data.write_drop(workdir / "landing", entity, 42, DS, per_file, args.defect_rate)
    gen = time.perf_counter() - t0
    size = sum(p.stat().st_size for p in (workdir / "landing").iterdir())
    print(f"generated {2 * per_file:,} lines ({size / 1e6:.0f} MB, defect rate {args.defect_rate:g}) "
          f"in {gen:.1f}s = {2 * per_file / gen:,.0f} lines/s; CPUs: {os.cpu_count()} (shared with other work)")

    cfg = workdir / "bench.cfg"
    cfg.write_text(
        f"[warehouse]\ndsn = {dsn}\n[lake]\nroot = {workdir / 'lake'}\n"
        f"[activity]\nlanding = {workdir / 'landing'}\npseudonym_key = bench-only-key\n"
    )
    print(f"\n{'step':<10}{'seconds':>10}{'lines/s':>14}{'peak RSS MiB':>15}{'CPU s':>8}{'server CPU s':>14}")
    total = 0.0
    for step in STEPS:
        seconds, rss, cpu, pg = child(step, cfg, workdir / "pgdata")
        total += seconds
        print(f"{step:<10}{seconds:>10.2f}{2 * per_file / seconds:>14,.0f}{rss:>15,}{cpu:>8.2f}"
              f"{'-' if pg is None else f'{pg:.2f}':>14}")
    print(f"{'total':<10}{total:>10.2f}{2 * per_file / total:>14,.0f}   (child processes; includes ~1 s start-up each)")

    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        for entity in ENTITIES:
            cur.execute(f"SELECT count(*) FROM staging.activity_{entity} WHERE ds = %s", (DS,))
            staged = cur.fetchone()[0]
            rejects = workdir / "lake" / "quarantine" / "activity" / entity / f"ds={DS}" / "rejects.jsonl"
            quarantined = sum(1 for _ in open(rejects, "rb"))
            print(f"{entity}: {per_file:,} lines = {staged:,} staged + {quarantined:,} quarantined")
            if staged + quarantined != per_file:
                raise SystemExit("FAIL: staged + quarantined != lines")
        cur.execute("SELECT mart, staged_rows, mart_total FROM mart.activity_count_reconciliation WHERE ds = %s", (DS,))
        bad = [r for r in cur.fetchall() if r[1] != r[2]]
        if bad:
            raise SystemExit(f"FAIL: marts do not reconcile: {bad}")
        cur.execute("SELECT sum(rows) FROM etl.partition_markers WHERE target LIKE 'mart/activity/%%' AND ds = %s", (DS,))
        print(f"marts: {cur.fetchone()[0]:,} rows over 8 tables, every count mart sums to its staged rows")
    conn.close()

    return 0

if __name__ == "__main__":
    sys.exit(main())
