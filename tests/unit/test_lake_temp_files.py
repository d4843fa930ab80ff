"""Stale `.tmp-*` files of crashed lake writes are removed on the next write in their folder,
never the temp file of a live writer (real writer processes: one SIGKILLed, one still writing)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from targets.lake import STALE_AFTER_SECONDS, LakeTarget

REPO = Path(__file__).resolve().parents[2]
PARTITION = "staging/p/e/ds=2026-11-20"
# A writer: starts a lake write, prints its temp path, writes the rest when told to (or is killed first).
WRITER = """
import sys
from targets.lake import LakeTarget
with LakeTarget(sys.argv[1], sys.argv[2]).writing() as path:
    with open(path, "wb") as f:
        f.write(b"partial")
        f.flush()
        print(path, flush=True)
        sys.stdin.readline()
        f.write(b"-rest")
"""


def start_writer(root: Path, key: str) -> tuple[subprocess.Popen, Path]:
    proc = subprocess.Popen([sys.executable, "-c", WRITER, key, str(root)], cwd=REPO, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    return proc, Path(proc.stdout.readline().strip())


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_next_write_removes_crashed_temp_files_but_not_a_live_writers(tmp_path):
    root = tmp_path / "lake"
    crashed, crashed_tmp = start_writer(root, f"{PARTITION}/a.parquet")
    crashed.send_signal(signal.SIGKILL)
    crashed.wait()
    assert crashed_tmp.read_bytes() == b"partial"  # what a crash leaves behind
    age(crashed_tmp, STALE_AFTER_SECONDS + 60)

    live, live_tmp = start_writer(root, f"{PARTITION}/b.parquet")  # a long write, still going
    age(live_tmp, 3600)
    folder = root / PARTITION
    fresh = folder / ".tmp-fresh.parquet"  # unlocked but younger than the safe age: kept for now
    fresh.write_bytes(b"x")
    other = folder / "notes.txt"
    other.write_bytes(b"not a temp file")
    age(other, 3600)
    other_partition = root / "staging/p/e/ds=2026-11-21/.tmp-old.parquet"
    other_partition.parent.mkdir(parents=True)
    other_partition.write_bytes(b"x")
    age(other_partition, 3600)

    LakeTarget(f"{PARTITION}/c.parquet", str(root)).write_bytes(b"c")

    assert sorted(p.name for p in folder.iterdir()) == sorted(["c.parquet", live_tmp.name, fresh.name, "notes.txt"])
    assert other_partition.exists()  # only the folder written to is cleaned

    live.communicate("go\n", timeout=30)
    assert live.returncode == 0
    assert (folder / "b.parquet").read_bytes() == b"partial-rest"
    assert not live_tmp.exists()
