"""Load's COPY stream: the reader over CSV chunks, and the chunks of a Parquet file (plus ds)."""
import datetime as dt
import io

import pyarrow as pa
import pyarrow.parquet as pq

from workflows.tasks.load import BatchReader, csv_chunks


def test_batch_reader_concatenates_chunks_across_read_sizes():
    chunks = [b"abc", b"", b"defgh", b"i"]
    reader = io.BufferedReader(BatchReader(iter(chunks)), buffer_size=2)
    assert reader.read(4) + reader.read() == b"abcdefghi"


def test_csv_chunks_add_ds_and_write_instants_as_utc_with_z(tmp_path):
    path = tmp_path / "staged.parquet"
    at = dt.datetime(2026, 11, 20, 12, 0, 0, 500000, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    pq.write_table(pa.table({"id": pa.array([1, None], pa.int64()),
                             "at": pa.array([at, None], pa.timestamp("us", tz="UTC")),
                             "name": pa.array(["a,b", None], pa.string())}), path)
    counter, progress = [0], []
    chunks = list(csv_chunks(str(path), dt.date(2026, 11, 20), counter, batch_rows=1,
                             progress=lambda done, total: progress.append((done, total))))
    assert len(chunks) == 2 and counter == [2] and progress == [(1, 2), (2, 2)]
    # the UTC wall clock with a Z (the same instant for PostgreSQL), NULLs as empty fields, ds last
    assert b"".join(chunks).decode() == '1,"2026-11-20 10:00:00.500000Z","a,b",2026-11-20\n,,,2026-11-20\n'


def test_ahead_yields_every_chunk_in_order_and_stops_its_producer_when_the_consumer_stops():
    import threading

    from workflows.tasks.load import ahead

    assert list(ahead(iter([b"a", b"b", b"c"]), depth=1)) == [b"a", b"b", b"c"]
    produced = []

    def endless():
        n = 0
        while True:
            produced.append(n)
            yield str(n).encode()
            n += 1

    chunks = ahead(endless(), depth=2)
    assert next(chunks) == b"0"
    chunks.close()  # what happens when the COPY fails and drops its reader
    assert not any(t.name == "copy-csv" for t in threading.enumerate())
    assert len(produced) <= 5  # it stopped instead of filling memory


def test_ahead_raises_the_producers_error():
    import pytest

    from workflows.tasks.load import ahead

    def broken():
        yield b"x"
        raise OSError("disk went away")

    chunks = ahead(broken())
    assert next(chunks) == b"x"
    with pytest.raises(OSError, match="disk went away"):
        next(chunks)
