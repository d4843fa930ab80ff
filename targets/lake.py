"""Lake target: one key layout on a local folder or an S3 bucket, every write atomic.

Layout: ``<zone>/<pipeline>/<entity>/ds=YYYY-MM-DD/<file>`` under ``[lake] root``.
Local writes go to a temp file in the same folder and are renamed; S3 writes go
to a local temp file and are uploaded with one PUT on success. A reader never
sees a half-written file or object. A local write first removes the ``.tmp-*`` files that
crashed writes left in its folder (see ``remove_stale_temp_files`` for the rule).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import os
import shutil
import stat
import tempfile
import time
from pathlib import Path
from typing import Iterator

import luigi
import luigi.format
from luigi.contrib.s3 import S3Client, S3Target


log = logging.getLogger("luigi-interface")

_S3_CLIENTS: dict[int, S3Client] = {}
TMP_PREFIX = ".tmp-"
STALE_AFTER_SECONDS = 60


def s3_client() -> S3Client:
    """One S3Client per process ([s3] section: endpoint_url, keys, region_name)."""
    pid = os.getpid()
    if pid not in _S3_CLIENTS:
        _S3_CLIENTS.clear()
        _S3_CLIENTS[pid] = S3Client()
    return _S3_CLIENTS[pid]


def checked_root(root: str) -> str:
    """``root`` without a trailing slash, or a ValueError saying what is wrong with it."""
    root = root.strip()
    if not root:
        raise ValueError("[lake] root: empty (a local folder or s3://bucket[/prefix])")
    if "://" in root and not root.startswith("s3://"):
        raise ValueError(f"[lake] root: unsupported scheme in {root!r} (a local folder or s3://bucket[/prefix])")
    if root.startswith("s3://") and not root[5:].strip("/"):
        raise ValueError("[lake] root: s3:// needs a bucket name")
    return root.rstrip("/")


def lake_key(zone: str, pipeline: str, entity: str, ds: dt.date | str | None, filename: str) -> str:
    """Relative key of a lake file, e.g. ``raw/fakestore/carts/ds=2026-11-20/carts.json``."""
    parts = [zone, pipeline, entity]
    if ds is not None:
        parts.append(f"ds={ds}")
    parts.append(filename)
    return "/".join(p for p in parts if p)


def remove_stale_temp_files(folder: str | os.PathLike) -> list[Path]:
    """Remove the ``.tmp-*`` files of crashed writes in ``folder``; the paths removed.

    Rule: a temp file is stale when no live writer holds its lock -- every writer holds an
    exclusive ``flock`` on its temp file from creating it until it is renamed into place,
    and the kernel drops the lock when the writer dies, whatever killed it -- and it was last
    modified more than STALE_AFTER_SECONDS ago (the instant between creating and locking a
    file). So two writers of different files in one folder never remove each other's file,
    however long they take, and a crashed write's file goes on the next write there.
    """
    removed = []
    cutoff = time.time() - STALE_AFTER_SECONDS
    for path in Path(folder).glob(TMP_PREFIX + "*"):
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_mtime > cutoff:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live writer
            with contextlib.suppress(FileNotFoundError):
                if os.stat(path).st_ino == st.st_ino:  # not renamed into place meanwhile
                    os.remove(path)
                    removed.append(path)
        finally:
            os.close(fd)
    if removed:
        log.info("lake: removed %d stale temp file(s) of crashed writes in %s", len(removed), folder)
    return removed


class LakeTarget(luigi.Target):
    """A file in the lake, addressed by its key relative to the lake's ``root`` (a local folder or
    ``s3://bucket[/prefix]``)."""

    def __init__(self, key: str, root: str):
        self.key = key
        root = checked_root(root)
        self.is_s3 = root.startswith("s3://")
        self.path = f"{root}/{key}"
        if self.is_s3:
            self._target = S3Target(self.path, format=luigi.format.Nop, client=s3_client())
        else:
            self._target = luigi.LocalTarget(self.path, format=luigi.format.Nop)

    def __repr__(self) -> str:
        return f"LakeTarget({self.path!r})"

    def exists(self) -> bool:
        return self._target.exists()

    def read_bytes(self) -> bytes:
        with self._target.open("r") as f:
            return f.read()

    def write_bytes(self, data: bytes) -> None:
        with self.writing() as path:
            Path(path).write_bytes(data)

    @contextlib.contextmanager
    def writing(self) -> Iterator[str]:
        """Yield a local path to write; on success it replaces the target atomically."""
        if self.is_s3:
            fd, tmp = tempfile.mkstemp(prefix="lake-", suffix=Path(self.key).suffix)
            os.close(fd)
            try:
                yield tmp
                s3_client().put(tmp, self.path)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.remove(tmp)
        else:
            folder = Path(self.path).parent
            folder.mkdir(parents=True, exist_ok=True)
            remove_stale_temp_files(folder)
            fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, suffix=Path(self.key).suffix, dir=folder)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)  # held until renamed: marks the temp file as a live write
                yield tmp
                os.replace(tmp, self.path)
            finally:
                os.close(fd)
                with contextlib.suppress(FileNotFoundError):
                    os.remove(tmp)

    @contextlib.contextmanager
    def local_path(self) -> Iterator[str]:
        """Yield a local, seekable path to read (S3 objects are downloaded to a temp file)."""
        if not self.is_s3:
            yield self.path
            return
        tmpdir = tempfile.mkdtemp(prefix="lake-read-")
        try:
            local = os.path.join(tmpdir, Path(self.key).name)
            s3_client().get(self.path, local)
            yield local
        finally:
            shutil.rmtree(tmpdir, ignore_errors=True)
