"""The deliverables pack: the manifest matches the files, the files match the marts, a re-run
writes the same bytes, and a write that fails half-way leaves the previous pack whole."""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os

import luigi
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from workflows import Pack, RunAll
from workflows.tasks.pack import build_files, version_of

D = dt.date(2026, 11, 20)
PREFIX = f"exports/fakestore/ds={D}/pack"
# The documented rule for "a mart's rows of ds" (docs/kpi_and_pack.md), written out here.
MART_ROWS = {
    "fact_sales": "SELECT * FROM mart.fact_sales WHERE ds = %(ds)s ORDER BY cart_id, product_id",
    "dim_product": "SELECT * FROM mart.dim_product WHERE first_seen_ds <= %(ds)s AND last_seen_ds >= %(ds)s "
                   "ORDER BY product_id",
    "dim_user": "SELECT * FROM mart.dim_user WHERE first_seen_ds <= %(ds)s AND last_seen_ds >= %(ds)s ORDER BY user_id",
}

pytestmark = pytest.mark.usefixtures("only_fakestore")


def build(*tasks, expect="SUCCESS"):
    result = luigi.build(list(tasks), local_scheduler=True, detailed_summary=True, workers=1)
    assert result.status.name == expect, result.summary_text


def lake_keys(env, prefix: str) -> set[str]:
    """Every file under a lake prefix, listed directly (not through the code under test)."""
    if env.s3 is None:
        base = os.path.join(env.lake, prefix)
        return {os.path.relpath(os.path.join(d, f), env.lake) for d, _, fs in os.walk(base) for f in fs}
    client, bucket = env.s3
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"wh/{prefix}/")
    return {o["Key"][3:] for page in pages for o in page.get("Contents", [])}


def pack_bytes(env) -> dict[str, bytes]:
    return {k: env.read_lake(k) for k in sorted(lake_keys(env, PREFIX))}


def test_manifest_matches_files_and_marts_and_rerun_is_byte_identical(env):
    build(RunAll(date=D))
    manifest = json.loads(env.read_lake(f"{PREFIX}/manifest.json"))
    version = manifest["version"]
    files = {f["path"]: f for f in manifest["files"]}
    assert lake_keys(env, PREFIX) == {f"{PREFIX}/manifest.json"} | {f"{PREFIX}/{version}/{p}" for p in files}
    for path, entry in files.items():
        data = env.read_lake(f"{PREFIX}/{version}/{path}")
        assert (len(data), hashlib.sha256(data).hexdigest()) == (entry["bytes"], entry["sha256"]), path
    assert version == "v-" + hashlib.sha256("".join(f"{p}\t{files[p]['sha256']}\n" for p in sorted(files)).encode()
                                            ).hexdigest()[:16]

    for mart, query in MART_ROWS.items():
        want = env.query(query, {"ds": D})
        assert want, mart
        rows = list(csv.reader(io.StringIO(env.read_lake(f"{PREFIX}/{version}/marts/{mart}.csv").decode())))
        parquet = pq.read_table(io.BytesIO(env.read_lake(f"{PREFIX}/{version}/marts/{mart}.parquet")))
        assert len(rows) - 1 == parquet.num_rows == files[f"marts/{mart}.csv"]["rows"] == len(want), mart
        assert [tuple(r.values()) for r in parquet.to_pylist()] == want, mart  # same values, same order, typed
    fact = pq.read_schema(io.BytesIO(env.read_lake(f"{PREFIX}/{version}/marts/fact_sales.parquet")))
    assert fact.field("unit_price").type == pa.decimal128(12, 2)
    assert fact.field("ordered_at").type == pa.timestamp("us", tz="UTC")

    for report in (f"reports/dq/ds={D}/dq_report_{D}.xlsx", f"reports/kpi/ds={D}/kpi_{D}.xlsx"):
        assert env.read_lake(f"{PREFIX}/{version}/reports/{os.path.basename(report)}") == env.read_lake(report)

    for entity, key in (("products", "id"), ("users", "id"), ("carts", "id")):
        raw = json.loads(env.read_lake(f"raw/fakestore/{entity}/ds={D}/{entity}.json"))["records"]
        sample = json.loads(env.read_lake(f"{PREFIX}/{version}/samples/raw/{entity}.json"))["records"]
        assert [r[key] for r in sample] == [r[key] for r in raw[:5]]
        staged = list(csv.DictReader(io.StringIO(env.read_lake(f"{PREFIX}/{version}/samples/staged/{entity}.csv").decode())))
        assert len(staged) == files[f"samples/staged/{entity}.csv"]["rows"] == 5
    users = json.loads(env.read_lake(f"raw/fakestore/users/ds={D}/users.json"))["records"][:5]
    samples = b"".join(env.read_lake(f"{PREFIX}/{version}/samples/{kind}") for kind in ("raw/users.json", "staged/users.csv"))
    personal = [u[f] for u in users for f in ("email", "phone", "username") if u.get(f)]
    assert len(personal) >= 10 and not [v for v in personal if v.encode() in samples]  # masked in samples

    before = pack_bytes(env)
    env.query("DELETE FROM etl.partition_markers WHERE target = 'pack/fakestore' AND ds = %s", (D,))
    build(Pack(date=D, pipeline="fakestore"))
    assert pack_bytes(env) == before  # same files, same bytes, same manifest


@pytest.mark.parametrize("env", ["local"], indirect=True)
def test_a_write_that_fails_half_way_leaves_the_previous_pack(env, tmp_path):
    build(RunAll(date=D))
    old = json.loads(env.read_lake(f"{PREFIX}/manifest.json"))
    env.query("UPDATE mart.fact_sales SET quantity = quantity + 1, line_total = (quantity + 1) * unit_price "
              "WHERE ds = %s AND cart_id = (SELECT min(cart_id) FROM mart.fact_sales WHERE ds = %s)", (D, D))
    new_version = version_of(build_files("fakestore", D, str(tmp_path / "preview")))
    assert new_version != old["version"]
    # a real failure in the middle of writing the new version: a file stands where its samples/ folder must go
    blocker = os.path.join(env.lake, PREFIX, new_version, "samples")
    os.makedirs(os.path.dirname(blocker))
    open(blocker, "w").close()
    env.query("DELETE FROM etl.partition_markers WHERE target = 'pack/fakestore' AND ds = %s", (D,))
    build(Pack(date=D, pipeline="fakestore"), expect="FAILED")

    assert json.loads(env.read_lake(f"{PREFIX}/manifest.json")) == old  # readers still get the old pack, whole
    for f in old["files"]:
        assert hashlib.sha256(env.read_lake(f"{PREFIX}/{old['version']}/{f['path']}")).hexdigest() == f["sha256"]
    assert os.path.exists(os.path.join(env.lake, PREFIX, new_version, "marts/fact_sales.csv"))  # it did fail half-way

    os.remove(blocker)
    build(Pack(date=D, pipeline="fakestore"))
    new = json.loads(env.read_lake(f"{PREFIX}/manifest.json"))
    assert new["version"] == new_version
    rows = list(csv.DictReader(io.StringIO(env.read_lake(f"{PREFIX}/{new_version}/marts/fact_sales.csv").decode())))
    assert sum(int(r["quantity"]) for r in rows) == env.query(
        "SELECT sum(quantity) FROM mart.fact_sales WHERE ds = %s", (D,))[0][0]
    assert {v for v in os.listdir(os.path.join(env.lake, PREFIX)) if v.startswith("v-")} == {old["version"], new_version}
