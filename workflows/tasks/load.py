"""Load: staged Parquet -> ``staging.<pipeline>_<entity>`` by streamed COPY, in one transaction with its marker.

Default (replace): lock the partition, delete its rows, COPY the Parquet file
(record batch by record batch, converted to CSV by pyarrow: bounded memory),
and upsert the partition marker. Merge entities (``merge_sql``) COPY into a
temp table and merge from it (dedupe, versioning, upserts). A crash leaves the
old partition and marker; a re-run replaces both.
A merge SQL split by ``LATER`` runs its second part only when its first left rows in the temp
table ``orphans (row_hash)`` (rows the file delivered first before and no longer holds: a corrected
file); ``later_deliveries (ds, row_hash)`` then says which of them later loaded files hold, read
from their staged Parquet files. A first load or a re-run of the same file never reads them.
"""
from __future__ import annotations

import datetime as dt
import io
import threading
from queue import Full, Queue
from typing import Callable, Iterable, Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from psycopg2 import sql

from workflows import layout, warehouse
from workflows.tasks.base import EntityTask, input_targets
from workflows.tasks.stage import Stage

BATCH_ROWS = 65_536
LATER = "-- @later_deliveries"  # a merge SQL's line before the part that reads temp table later_deliveries
ANALYZE_ROWS = 50_000  # a load this large refreshes the table's planner statistics


class BatchReader(io.RawIOBase):
    """A read-only file over an iterator of byte chunks (what COPY FROM STDIN reads)."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks = chunks
        self._buf = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while not self._buf:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._buf = memoryview(chunk)
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


def _csv_column(col: pa.Array) -> pa.Array:
    """pyarrow formats tz-aware timestamps ~15x slower than naive ones: write the UTC
    wall clock with a 'Z' suffix instead (same instant for PostgreSQL; NULLs stay NULL)."""
    if pa.types.is_timestamp(col.type) and col.type.tz is not None:
        wall = pc.cast(col, pa.timestamp(col.type.unit))
        return pc.binary_join_element_wise(pc.cast(wall, pa.string()), "Z", "")
    return col


def csv_chunks(
    parquet_path: str, ds: dt.date, counter: list[int], batch_rows: int = BATCH_ROWS,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[bytes]:
    """CSV bytes of the Parquet file plus a ``ds`` column, one record batch at a time;
    ``progress(rows_done, rows_total)`` is called after each batch."""
    options = pacsv.WriteOptions(include_header=False)
    ds_value = pa.scalar(ds, pa.date32())
    parquet = pq.ParquetFile(parquet_path, pre_buffer=False)  # batch by batch: memory stays one batch
    total = parquet.metadata.num_rows
    for batch in parquet.iter_batches(batch_size=batch_rows):
        batch = pa.RecordBatch.from_arrays(
            [*map(_csv_column, batch.columns), pa.repeat(ds_value, batch.num_rows)],
            names=[*batch.schema.names, "ds"],
        )
        sink = io.BytesIO()
        pacsv.write_csv(batch, sink, options)
        counter[0] += batch.num_rows
        yield sink.getvalue()
        if progress is not None:
            progress(counter[0], total)


def copy_parquet(cur, ident: sql.Composable, parquet_path: str, ds: dt.date, progress=None) -> int:
    """COPY the Parquet file's rows (plus ``ds``) into table ``ident``; return the row count."""
    columns = [*pq.read_schema(parquet_path).names, "ds"]
    copy = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(
        ident, sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    counter = [0]
    chunks = ahead(csv_chunks(parquet_path, ds, counter, progress=progress))
    cur.copy_expert(copy.as_string(cur), BatchReader(chunks), size=1 << 20)
    return counter[0]


def ahead(chunks: Iterator[bytes], depth: int = 4) -> Iterator[bytes]:
    """The same chunks, produced on a second thread up to ``depth`` ahead, so that converting the
    next batch to CSV (pyarrow releases the GIL) overlaps with sending this one to the server.
    Bounded: at most ``depth`` chunks wait in memory. An error in the producer is raised here."""
    queue: Queue = Queue(maxsize=depth)
    done, stop = object(), threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                queue.put(item, timeout=0.1)
                return True
            except Full:
                continue
        return False

    def produce() -> None:
        try:
            for chunk in chunks:
                if not put(chunk):
                    return  # the consumer stopped (the COPY failed): stop converting
            put(done)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            put(exc)

    thread = threading.Thread(target=produce, name="copy-csv", daemon=True)
    thread.start()
    try:
        while True:
            item = queue.get()
            if item is done:
                break
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def copy_partition(cur, table: str, parquet_path: str, ds: dt.date, progress=None) -> int:
    """Replace partition ``ds`` of ``staging.<table>`` with the Parquet file's rows; return the row count.

    Runs inside the caller's transaction (cursor ``cur``).
    """
    ident = sql.Identifier("staging", table)
    cur.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"staging.{table}/{ds}",))
    cur.execute(sql.SQL("DELETE FROM {} WHERE ds = %s").format(ident), (ds,))
    rows = copy_parquet(cur, ident, parquet_path, ds, progress)
    if rows >= ANALYZE_ROWS:  # the marts read what just arrived: let the planner know it (a sample: cheap)
        cur.execute(sql.SQL("ANALYZE {}").format(ident))
    return rows


def note_later_deliveries(cur, later_files: Callable[[], Iterable[tuple[dt.date, str]]]) -> int:
    """The rows of temp table ``orphans`` that the later files (ds, staged Parquet path) hold, into temp
    table ``later_deliveries``; the orphans' count. Reads no file when there are no orphans."""
    cur.execute("SELECT replace(row_hash::text, '-', '') FROM orphans")
    orphans = pa.array([h for h, in cur.fetchall()], pa.string())
    if len(orphans):
        for later_ds, path in later_files():
            hashes = pq.read_table(path, columns=["row_hash"]).column(0)
            found = pc.unique(pc.filter(hashes, pc.is_in(hashes, value_set=orphans)))
            if len(found):
                cur.execute("INSERT INTO later_deliveries (ds, row_hash) SELECT %s, unnest(%s::uuid[])",
                            (later_ds, found.to_pylist()))
    return len(orphans)


def merge_partition(cur, table: str, parquet_path: str, ds: dt.date, merge_sql: str, progress=None,
                    later_files: Callable[[], Iterable[tuple[dt.date, str]]] = lambda: ()) -> int:
    """COPY the Parquet rows into temp table ``incoming`` (LIKE ``staging.<table>``), then run
    ``merge_sql`` (params: ds) to merge them into the staging table. Returns the rows copied.
    ``later_files``: (ds, staged Parquet path) of the later loaded files, for a merge SQL split by ``LATER``."""
    cur.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"staging.{table}",))
    cur.execute(
        sql.SQL("CREATE TEMP TABLE incoming (LIKE {} INCLUDING DEFAULTS) ON COMMIT DROP").format(
            sql.Identifier("staging", table)
        )
    )
    rows = copy_parquet(cur, sql.Identifier("incoming"), parquet_path, ds, progress)
    merge, split, then = merge_sql.partition(LATER)
    cur.execute(merge, {"ds": ds})
    if split and note_later_deliveries(cur, later_files):
        cur.execute(then, {"ds": ds})
    if rows >= ANALYZE_ROWS:  # the marts read what just arrived: let the planner know it (a sample: cheap)
        cur.execute(sql.SQL("ANALYZE {}").format(sql.Identifier("staging", table)))
    return rows


class Load(EntityTask):
    """Staged Parquet -> staging table partition, with its marker in the same transaction."""

    def requires(self):
        return Stage(date=self.date, pipeline=self.pipeline, entity=self.entity)

    def output(self):
        return layout.marker(f"load/{self.pipeline}/{self.entity}", self.date, "Load", lambda: input_targets(self))

    def run(self):
        table = self.decl.staging_table(self.entity)
        merge = self.entity_decl.merge_sql
        def progress(done: int, total: int) -> None:
            self.report(f"COPY into staging.{table}: {done:,} of {total:,} rows", int(99 * done / max(total, 1)))

        with self.input()["data"].local_path() as path, warehouse.transaction() as cur:
            if merge:
                rows = merge_partition(cur, table, path, self.date, warehouse.read_sql(merge), progress,
                                       lambda: self.later_files(cur))
            else:
                rows = copy_partition(cur, table, path, self.date, progress)
            self.output().write(cur, rows)
        self.report(f"{rows} rows loaded into staging.{table}", 100, **{"in": rows, "out": rows})

    def later_files(self, cur) -> Iterator[tuple[dt.date, str]]:
        """(ds, local staged Parquet path) of every later file of the entity that is loaded."""
        cur.execute("SELECT ds FROM etl.partition_markers WHERE target = %s AND ds > %s ORDER BY ds",
                    (f"load/{self.pipeline}/{self.entity}", self.date))
        for later_ds, in cur.fetchall():
            staged = layout.staged(self.pipeline, self.entity, later_ds)
            if not staged.exists():  # never guess: a row of that file would be dropped from staging
                raise FileNotFoundError(f"{self.pipeline}/{self.entity} ds={later_ds} is loaded but its staged file "
                                        f"{staged.path} is missing: rerun that date --from stage, then this one")
            with staged.local_path() as path:
                yield later_ds, path
