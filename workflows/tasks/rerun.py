"""Rerun: invalidate a day's (or a range's) markers from one step on, with everything downstream, then run.

``luigi --module workflows Rerun --date D [--pipeline P] [--entity E | --mart M] [--from STEP] [--dry-run]``
(or ``--start D1 --stop D2``, stop exclusive). STEP is extract, stage, load, mart or check. The
markers of the chosen step's tasks and of every task that reads them (in RunAll's graph of that
ds, down to the report and the packs) are deleted in one transaction, recorded in ``etl.reruns``,
then exactly those tasks run. The data stays until each task replaces it with its marker in its
own transaction, so a crash at any point leaves markers that are missing (the next run rebuilds
them) or fresh (their data was replaced with them). Without ``--from`` it redoes from extract, but a
snapshot source (an API serving only now) is not fetched again for a past ds: it starts from the
landed raw file (stage) and says so. From a later step (``--from stage|load|mart|check``) it first
compares each concerned file drop with the file that was landed (bytes and sha256 in the raw meta):
a corrected drop is said in one line and that entity starts from extract, so the correction is
landed (``--trust-landed`` keeps the landed data). ``--dry-run`` prints the tasks it would redo and
changes nothing.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import tempfile
import uuid
from collections import defaultdict
from pathlib import Path

import luigi

from targets.lake import s3_client
from workflows import layout, pipelines, warehouse
from workflows.config import OptionalDateParameter
from workflows.pack_files import sha256_file
from workflows.status import date_range
from workflows.declarations import Drop, Pipeline
from workflows.tasks.base import report_status
from workflows.tasks.extract import snapshot_too_old
from workflows.tasks.runall import RunAll, graph

STEPS = ("extract", "stage", "load", "mart", "check")


def drop_changed(decl: Pipeline, entity: str, ds: dt.date) -> str | None:
    """Why the entity's drop for ``ds`` in the landing folder (or s3:// prefix) is no longer the file that
    was landed (bytes and sha256 recorded in the raw file's meta), or None: same file, no drop there,
    nothing landed yet, not a file drop, or generated drops (deterministic per seed and ds)."""
    source = decl.entity(entity).source
    root = decl.drops().strip() if isinstance(source, Drop) and decl.drops else ""
    if not root:
        return None
    meta_file = layout.raw(decl.name, entity, ds, f"{decl.entity(entity).raw_filename}.meta.json")
    if not meta_file.exists():
        return None
    meta = json.loads(meta_file.read_bytes())
    name = source.name(ds)
    with tempfile.TemporaryDirectory(prefix="rerun-drop-") as tmp:
        if root.startswith("s3://"):
            uri = f"{root.rstrip('/')}/{name}"
            if not s3_client().exists(uri):
                return None
            local = Path(tmp) / name
            s3_client().get(uri, str(local))
        else:
            uri = local = Path(root) / name
            if not local.is_file():
                return None
        size, sha = local.stat().st_size, sha256_file(str(local))
        if (size, sha) == (meta.get("bytes"), meta.get("sha256")):
            return None
        gone = _lines_gone(decl, entity, ds, local) if decl.entity(entity).merge_sql else 0
    note = (f"{decl.name}/{entity}: the drop {uri} ({size:,} bytes, sha256 {sha[:12]}) is not the landed file "
            f"({meta.get('bytes', 0):,} bytes, sha256 {str(meta.get('sha256'))[:12]}): rerun starts from extract")
    if gone:
        note += (f"; {gone:,} lines of the landed file are not in the drop: the merge into "
                 f"staging.{decl.staging_table(entity)} removes the rows only they delivered")
    return note


def _lines(path, header: bool) -> set[bytes]:
    with open(path, "rb") as f:
        if header:
            next(f, None)
        return {hashlib.sha256(line.rstrip(b"\r\n")).digest() for line in f if line.strip()}


def _lines_gone(decl: Pipeline, entity: str, ds: dt.date, drop: Path) -> int:
    """How many distinct lines of the landed raw file the new drop no longer holds."""
    header = decl.entity(entity).format == "csv"
    with layout.raw(decl.name, entity, ds, decl.entity(entity).raw_filename).local_path() as landed:
        return len(_lines(landed, header) - _lines(drop, header))


def roots(date: dt.date, pipeline: str, entity: str, mart: str, step: str,
          trust_landed: bool = False) -> tuple[list[str], list[str]]:
    """The marker targets a rerun starts from on ``date``, and notes (snapshot sources kept; changed
    drops landed again unless ``trust_landed``)."""
    out, notes = [], []
    chosen = [pipelines.get(pipeline)] if pipeline else pipelines.enabled()
    for decl in chosen:
        p = decl.name
        if mart:
            out.append(f"build/{p}/{decl.mart(mart).name}")
            if not trust_landed:
                for e in decl.mart(mart).entities:
                    why = drop_changed(decl, e, date)
                    if why:
                        notes.append(why)
                        out.append(f"extract/{p}/{e}")
            continue
        entities = [decl.entity(entity).name] if entity else list(decl.entities)
        for e in entities:
            first = step or "extract"
            why = None if first == "extract" or trust_landed else drop_changed(decl, e, date)
            if why:
                notes.append(why)
                out.append(f"extract/{p}/{e}")
            if first == "extract" and snapshot_too_old(decl, e, date):
                notes.append(f"{p}/{e} is a snapshot source: ds {date} is not fetched again, "
                             f"rerun starts from the landed raw file (stage)")
                first = "stage"
            if first in ("extract", "stage", "load"):
                out.append(f"{first}/{p}/{e}")
            elif first == "check":
                out.append(f"audit/{p}/{e}")
            else:
                out += [f"build/{p}/{m}" for m, md in decl.marts.items() if not entity or e in md.entities]
        if step == "check" and not entity:
            out.append(f"record/{p}")
    return out, notes


def plan(date: dt.date, pipeline: str = "", entity: str = "", mart: str = "", step: str = "",
         trust_landed: bool = False):
    """(tasks to redo by marker target, notes): the roots and everything downstream in RunAll's graph."""
    found, _, edges = graph(RunAll(date=date).requires())
    readers = defaultdict(set)
    for target, inp in edges:
        readers[inp].add(target)
    start, notes = roots(date, pipeline, entity, mart, step, trust_landed)
    missing = [t for t in start if t not in found]
    if missing:
        raise ValueError(f"not in RunAll's graph (pipeline not enabled?): {', '.join(missing)}")
    todo, seen = list(start), set()
    while todo:
        t = todo.pop()
        if t not in seen:
            seen.add(t)
            todo.extend(readers[t])
    return {t: found[t] for t in sorted(seen)}, notes


def invalidate(request_id: str, command: str, plans: dict[dt.date, dict]) -> int:
    """Delete every planned marker, all dates, in one transaction; record the rerun. Once per request."""
    pairs = [(t, d) for d, tasks in plans.items() for t in tasks]
    with warehouse.transaction() as cur:
        cur.execute("INSERT INTO etl.reruns (request_id, command, dates, invalidated) VALUES (%s, %s, %s, %s) "
                    "ON CONFLICT (request_id) DO NOTHING RETURNING 1",
                    (request_id, command, sorted(plans), [f"{t}@{d}" for t, d in pairs]))
        if cur.fetchone() is None:
            return 0  # this request already invalidated (luigi resumed the task after its dependencies)
        cur.execute("DELETE FROM etl.partition_markers m USING unnest(%s::text[], %s::date[]) AS x(target, ds) "
                    "WHERE m.target = x.target AND m.ds = x.ds", ([t for t, _ in pairs], [d for _, d in pairs]))
        return cur.rowcount


class Rerun(luigi.Task):
    """Invalidate the chosen markers of a date or range and everything downstream, then redo them."""

    date = OptionalDateParameter(default=None, description="The ds to redo (or --start/--stop)")
    start = OptionalDateParameter(default=None, description="First ds of a range")
    stop = OptionalDateParameter(default=None, description="Day after the last ds of a range (exclusive)")
    pipeline = luigi.Parameter(default="", description="Only this pipeline (default: every enabled one)")
    # None when not given (not ""): the command line's check of a root task's entity/mart skips them then
    entity = luigi.OptionalParameter(default=None, description="Only this entity of the pipeline (and what reads it)")
    mart = luigi.OptionalParameter(default=None, description="Only this mart of the pipeline (and what reads it)")
    dry_run = luigi.BoolParameter(default=False, description="Print what would be redone; change nothing")
    trust_landed = luigi.BoolParameter(default=False, description="With --from after extract: redo from the landed "
                                       "data even when the drop file differs from it (default: land it again)")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.request_id = uuid.uuid4().hex  # made before any fork: a resumed run() sees the same id
        self._finished = False

    @property
    def step(self) -> str:
        return getattr(self, "from") or ""

    def dates(self) -> list[dt.date]:
        if self.date and not (self.start or self.stop):
            return [self.date]
        if self.start and self.stop and not self.date and self.start < self.stop:
            return date_range(self.start, self.stop)
        raise ValueError("Rerun needs --date D, or --start D1 --stop D2 (stop exclusive, after start)")

    def plans(self) -> tuple[dict[dt.date, dict], list[str]]:
        if self.entity and self.mart:
            raise ValueError("Rerun takes --entity or --mart, not both")
        if (self.entity or self.mart) and not self.pipeline:
            raise ValueError("--entity and --mart need --pipeline")
        if self.mart and self.step not in ("", "mart", "check"):
            raise ValueError(f"--mart starts at the mart step, not --from {self.step}")
        plans, notes = {}, []
        for d in self.dates():
            plans[d], n = plan(d, self.pipeline, self.entity or "", self.mart or "", self.step, self.trust_landed)
            notes += n
        return plans, notes

    def complete(self) -> bool:
        return self._finished

    def run(self):
        resumed = hasattr(self, "_planned")  # luigi runs run() again once the yielded tasks are done
        if not resumed:  # planned once: on resuming, a re-landed drop no longer differs
            self._planned = self.plans()
        plans, notes = self._planned
        for note in notes if not resumed else ():
            report_status(self, note)
            if not self.dry_run:
                print(f"note: {note}", flush=True)
        if self.dry_run:
            for d, tasks in plans.items():
                print(f"Rerun ds={d}: would redo {len(tasks)} tasks")
                for target, task in tasks.items():
                    print(f"  {target:<45} {task.task_id}")
            for note in notes:
                print(f"note: {note}")
            self._finished = True
            return
        deleted = invalidate(self.request_id, self.task_id, plans)
        if deleted:
            report_status(self, f"invalidated {deleted} markers over {len(plans)} dates")
        yield [task for tasks in plans.values() for task in tasks.values()]
        report_status(self, f"redone: {sum(map(len, plans.values()))} tasks over {len(plans)} dates", 100)
        self._finished = True


_FROM = luigi.ChoiceParameter(choices=("",) + STEPS, default="", var_type=str,
                              description="First step to redo: " + ", ".join(STEPS))
setattr(Rerun, "from", _FROM)  # --from: a Python keyword, so set after the class body
if hasattr(_FROM, "__set_name__"):
    _FROM.__set_name__(Rerun, "from")
