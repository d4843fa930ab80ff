"""Pack: the deliverables pack of one pipeline and ds, under ``exports/<pipeline>/ds=<ds>/pack/``.

Files (paths relative to the pack's version folder): ``marts/<mart>.csv`` and
``marts/<mart>.parquet`` (the ds's rows, see ``workflows.pack_files``),
``reports/dq_report_<ds>.xlsx`` and ``reports/kpi_<ds>.xlsx`` (the day's
workbooks, as the lake holds them), ``samples/raw/<entity>.<ext>`` and
``samples/staged/<entity>.csv``; and ``pack/manifest.json`` listing every file
with its bytes, sha256 and row count.

Atomic by a switch: the files are built in a local temp folder; their hashes give
the version (``v-`` + 16 hex of a sha256 over paths and hashes); they are written
under ``pack/<version>/``; then ``manifest.json``, one atomic write, names the
version. Readers read the manifest first, then that version's files. A crash before
the manifest leaves the previous pack whole (its files are never touched) and the
new files unreferenced. After the switch, versions other than the new and the
previous one are deleted. The same content gives the same version and the same
bytes, so a re-run rewrites nothing that differs. (Activity's own JSON exports sit
beside ``pack/`` in ``exports/activity/ds=<ds>/``; the two do not share a file.)
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from targets import lake_key
from targets.lake import s3_client
from workflows import layout, pipelines, warehouse
from workflows.config import lake
from workflows.pack_files import raw_sample, sha256_file, staged_sample, write_mart
from workflows.tasks import kpi
from workflows.tasks.base import PipelineTask, input_targets
from workflows.tasks.mart import Mart
from workflows.tasks.report import DQReport
from workflows.tasks.stage import Stage


def pack_prefix(pipeline: str, ds: dt.date) -> str:
    return lake_key("exports", pipeline, "", ds, "pack")


def build_files(pipeline: str, ds: dt.date, folder: str) -> list[dict]:
    """Write the pack's files into ``folder``; return their entries (path, kind, source, rows)."""
    decl = pipelines.get(pipeline)

    def local(rel: str) -> str:
        path = Path(folder, rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        return str(path)

    entries = []
    with warehouse.transaction() as cur:  # one snapshot for every mart
        cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cur.execute("SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL extra_float_digits = 1")
        for mart in decl.marts:
            rel = {ext: f"marts/{mart}.{ext}" for ext in ("csv", "parquet")}
            rows = write_mart(cur, pipeline, mart, ds, local(rel["csv"]), local(rel["parquet"]))
            entries += [{"path": p, "kind": "mart", "source": rows.table, "rule": rows.rule, "rows": rows.rows}
                        for p in rel.values()]
    workbooks = [layout.report(ds)] + ([kpi.kpi_target(ds)] if kpi.enabled() else [])
    for target in workbooks:
        rel = f"reports/{Path(target.key).name}"
        Path(local(rel)).write_bytes(target.read_bytes())
        entries.append({"path": rel, "kind": "report", "source": target.key})
    for name, entity in decl.entities.items():
        raw = layout.raw(pipeline, name, ds, entity.raw_filename)
        rel = f"samples/raw/{entity.raw_filename}"
        entries.append({"path": rel, "kind": "raw_sample", "source": raw.key, "rows": raw_sample(entity, raw, local(rel))})
        staged = layout.staged(pipeline, name, ds)
        rel = f"samples/staged/{name}.csv"
        entries.append({"path": rel, "kind": "staged_sample", "source": staged.key,
                        "rows": staged_sample(staged, local(rel))})
    for e in entries:
        path = os.path.join(folder, e["path"])
        e["bytes"], e["sha256"] = os.path.getsize(path), sha256_file(path)
    return sorted(entries, key=lambda e: e["path"])


def version_of(entries: list[dict]) -> str:
    digest = hashlib.sha256("".join(f"{e['path']}\t{e['sha256']}\n" for e in entries).encode())
    return f"v-{digest.hexdigest()[:16]}"


def read_manifest(pipeline: str, ds: dt.date) -> dict | None:
    target = layout.lake_target(f"{pack_prefix(pipeline, ds)}/manifest.json")
    return json.loads(target.read_bytes()) if target.exists() else None


def _versions_in_lake(prefix: str) -> set[str]:
    base = f"{lake().root.rstrip('/')}/{prefix}"
    if base.startswith("s3://"):
        names = {p[len(base) + 1:].split("/", 1)[0] for p in s3_client().listdir(base)}
    else:
        names = set(os.listdir(base)) if os.path.isdir(base) else set()
    return {n for n in names if n.startswith("v-")}


def _remove_version(prefix: str, version: str) -> None:
    path = f"{lake().root.rstrip('/')}/{prefix}/{version}"
    if path.startswith("s3://"):
        s3_client().remove(path, recursive=True)
    else:
        shutil.rmtree(path, ignore_errors=True)


def publish(pipeline: str, ds: dt.date, folder: str, entries: list[dict]) -> dict:
    """Write the version's files, then switch the manifest to it, then drop older versions."""
    prefix, version = pack_prefix(pipeline, ds), version_of(entries)
    previous = (read_manifest(pipeline, ds) or {}).get("version")
    for e in entries:
        with layout.lake_target(f"{prefix}/{version}/{e['path']}").writing() as path:
            shutil.copyfile(os.path.join(folder, e["path"]), path)
    manifest = {"pipeline": pipeline, "ds": str(ds), "version": version, "files": entries}
    layout.lake_target(f"{prefix}/manifest.json").write_bytes(json.dumps(manifest, indent=1, sort_keys=True).encode() + b"\n")
    for stale in _versions_in_lake(prefix) - {version, previous}:
        _remove_version(prefix, stale)
    return manifest


class Pack(PipelineTask):
    """The pipeline's deliverables for ds -> ``exports/<pipeline>/ds=<ds>/pack/``; a marker last."""

    def requires(self):
        return ([Mart(date=self.date, pipeline=self.pipeline, mart=m) for m in self.decl.marts]
                + [Stage(date=self.date, pipeline=self.pipeline, entity=e) for e in self.decl.entities]
                + [DQReport(date=self.date)] + ([kpi.KPIReport(date=self.date)] if kpi.enabled() else []))

    def output(self):
        return layout.marker(f"pack/{self.pipeline}", self.date, "Pack", lambda: input_targets(self))

    def run(self):
        with tempfile.TemporaryDirectory(prefix="pack-") as folder:
            manifest = publish(self.pipeline, self.date, folder, build_files(self.pipeline, self.date, folder))
        rows = sum(e["rows"] for e in manifest["files"] if e["kind"] == "mart" and e["path"].endswith(".csv"))
        with warehouse.transaction() as cur:
            self.output().write(cur, rows)
        self.report(f"{len(manifest['files'])} files, {rows} mart rows in "
                    f"{pack_prefix(self.pipeline, self.date)}/{manifest['version']}/", 100, out=rows)


def deliverables(ds: dt.date) -> list:
    """What RunAll requires after the DQ report: the KPI report (where FakeStore runs), every pipeline's pack."""
    return ([kpi.KPIReport(date=ds)] if kpi.enabled() else []) + [Pack(date=ds, pipeline=p.name)
                                                                     for p in pipelines.enabled()]
