"""Issue 14 acceptance: a corrected GA4 drop redone with ``Rerun --from load``, and a Rerun killed mid-run.

Every pipeline runs three days (content from a landing folder holding the content scenario's drops,
the others from their generated sources) on a real embedded PostgreSQL and a local lake; the last
day's GA4 export arrived incomplete (its last third missing). Then the corrected file replaces it in
the landing folder: the complete export plus restated late events for the earlier days (GA4 keeps
adding late events to a day for 72 hours). ``Rerun --from load`` must notice that the drop is no longer the
landed file, land it again, and leave the content marts equal to the tests' own recomputation from
the landed CSV files (test_content_oracle), while every other pipeline's tables, lake files and
markers stay as they were. A Rerun killed with SIGKILL while its tasks run must leave each marker
either gone or fresh (never a marker describing data that is not there), and the next daily run
must converge to the same recomputation.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import signal
import subprocess
import sys
import time
from contextlib import redirect_stdout
from pathlib import Path

import luigi
import pytest

from tests.conftest import REPO, luigi_settings
from tests.integration.test_content_oracle import fields, ga4_row, gam_row, records
from tests.integration.test_content_pipeline import DATES, assert_converged, landing, marts, raw_files
from workflows import Rerun, RunAll

LOCAL = pytest.mark.parametrize("env", ["local"], indirect=True)
D = DATES[-1]
CONTENT_TABLES = {"staging.content_ga4_events", "staging.content_gam_delivery", "staging.content_cms_articles",
                  "mart.article_daily_metrics", "mart.ad_daily_revenue"}


def build(*tasks):
    luigi.task_register.Register.clear_instance_cache()
    result = luigi.build(list(tasks), local_scheduler=True, detailed_summary=True, workers=1)
    assert result.status.name == "SUCCESS", result.summary_text
    return result


def quoted(values) -> str:
    return ",".join("" if v is None else '"' + v.replace('"', '""') + '"' for v in values)


def truncate_ga4(path: Path) -> str:
    """Make the day's first GA4 drop an incomplete export (its last third of lines missing, late events
    for earlier days among them); return the complete file, the correction sent later."""
    full = path.read_text()
    lines = full.splitlines()
    path.write_text("\n".join(lines[: 1 + 2 * (len(lines) - 1) // 3]) + "\n")
    return full


def correct_ga4(path: Path, full: str) -> set[tuple]:
    """The corrected drop: the complete export plus restated late events (one per earlier day, one on D).
    Returns the (event date, content_id) keys of the lines the correction adds."""
    sent = {tuple(f) for _, f in records(path.read_text())}
    template = next(f for _, f in records(full) if ga4_row(f) is not None)
    extra = []
    for i, day in enumerate((DATES[0], DATES[1], D)):
        f = list(template)
        f[0], f[1], f[2], f[3], f[6] = f"{day}T0{i + 1}:02:03Z", "page_view", f"77700{i}.1", "555", None
        extra.append(quoted(f))
    path.write_text(full.rstrip("\n") + "\n" + "\n".join(extra) + "\n")
    added = [ga4_row(f) for _, f in records(path.read_text()) if tuple(f) not in sent]
    return {(r[0].date(), r[4]) for r in added if r is not None}


def lake_files(lake: Path, skip: str) -> dict[str, str]:
    """sha256 of every lake file outside ``skip``'s folders, the day-wide DQ reports, the packs (which
    carry the DQ report) and the task logs."""
    out = {}
    for path in sorted(lake.rglob("*")):
        rel = path.relative_to(lake).as_posix()
        if path.is_file() and f"/{skip}/" not in f"/{rel}" and "/pack/" not in rel and not rel.startswith(("reports/", "logs/")):
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def other_tables(env) -> dict[str, str]:
    """md5 of every staging and mart table (and DQ row) of the pipelines other than content."""
    names = [f"{s}.{t}" for s, t in env.query(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
        "AND table_schema IN ('staging', 'mart') ORDER BY 1, 2")]
    names = [n for n in names if n not in CONTENT_TABLES and not n.startswith("staging.content_")]
    assert len(names) > 20  # fakestore, activity, bikes, library
    out = {n: env.query(f"SELECT count(*), md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM {n} x")[0]
           for n in names}
    for t in ("dq_results", "dq_decisions"):
        out[f"etl.{t}"] = env.query(f"SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) "
                                    f"FROM etl.{t} x WHERE pipeline NOT IN ('content', '')")[0]  # '': the day's report
    return out


def markers(env) -> dict[tuple[str, dt.date], tuple]:
    return {(t, d): rest for t, d, *rest in env.query(
        "SELECT target, ds, seq, code_version, rows, finished_at FROM etl.partition_markers")}


def of_others(ms: dict) -> dict:
    """Markers of the other pipelines, except their packs (a pack carries the day's DQ report, which
    covers every pipeline: it is redone when content's checks are)."""
    return {k: v for k, v in ms.items() if "/content" not in k[0] and not k[0].startswith(("report/dq", "pack/"))}


def three_days(env, tmp_path):
    """The three days run, D's GA4 drop incomplete; the complete file (the correction, sent later)."""
    landing(tmp_path / "landing")
    full = truncate_ga4(tmp_path / "landing" / f"ga4_events_{D:%Y%m%d}.csv")
    settings = luigi_settings({"content": {"landing": str(tmp_path / "landing")}})
    settings.__enter__()
    for ds in DATES:
        build(RunAll(date=ds))
    assert_converged(env, DATES)
    return settings, full


@LOCAL
def test_rerun_from_load_after_a_corrected_ga4_drop(env, tmp_path, capsys):
    settings, full = three_days(env, tmp_path)
    try:
        before_marts, before_markers = marts(env), markers(env)
        others, files = other_tables(env), lake_files(Path(env.lake), "content")
        drop = tmp_path / "landing" / f"ga4_events_{D:%Y%m%d}.csv"
        added = correct_ga4(drop, full)
        assert set(DATES) <= {day for day, _ in added}  # the correction touches D and both earlier event dates

        capsys.readouterr()
        build(Rerun(date=D, pipeline="content", dry_run=True, **{"from": "load"}))
        out = capsys.readouterr().out
        assert f"note: content/ga4_events: the drop {drop}" in out and "rerun starts from extract" in out
        assert "not in the drop" not in out  # the complete export holds every line landed before
        assert "extract/content/ga4_events" in out and "extract/content/gam_delivery" not in out
        build(Rerun(date=D, pipeline="content", dry_run=True, trust_landed=True, **{"from": "load"}))
        out = capsys.readouterr().out
        assert "note:" not in out and "extract/content" not in out and "load/content/ga4_events" in out
        assert markers(env) == before_markers  # dry runs changed nothing

        build(Rerun(date=D, pipeline="content", **{"from": "load"}))
        assert capsys.readouterr().out.count("note: content/ga4_events: the drop") == 1  # said once, in one line
        assert env.read_lake(f"raw/content/ga4_events/ds={D}/ga4_events.csv") == drop.read_bytes()  # landed again
        model = assert_converged(env, DATES)  # every content mart = the recomputation from the landed CSVs
        after = marts(env)
        # the correction reached D's mart rows and those of the earlier event dates it touches, only those
        moved = {k for k, v in after["article"].items() if before_marts["article"].get(k) != v}
        assert moved <= added and set(DATES) <= {day for day, _ in moved}
        assert model.article_daily_metrics() != before_marts["article"]
        ms = markers(env)
        redone = {t for (t, d), v in ms.items() if before_markers.get((t, d)) != v}
        # ga4_events from extract (its drop changed), the other entities from load as asked, and what reads them
        assert {"extract/content/ga4_events", "stage/content/ga4_events", "load/content/ga4_events",
                "load/content/gam_delivery", "load/content/cms_articles", "build/content/article_daily_metrics",
                "mart/content/daily_summary", "check/content", "report/dq"} <= redone
        assert not redone & {"extract/content/gam_delivery", "stage/content/gam_delivery",
                             "extract/content/cms_articles", "stage/content/cms_articles"}
        assert {d for (t, d), v in ms.items() if before_markers.get((t, d)) != v} == {D}
        # other pipelines untouched: tables, DQ rows, lake files and markers
        assert of_others(ms) == of_others(before_markers)
        assert other_tables(env) == others
        assert lake_files(Path(env.lake), "content") == files
    finally:
        settings.__exit__(None, None, None)


def wait_for(predicate, timeout: float, proc):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.02)
    return False


@LOCAL
@pytest.mark.parametrize("kill_after", [1, 6, 12])
def test_a_rerun_killed_mid_run_is_repaired_by_the_next_run(env, tmp_path, only_content, kill_after):
    """SIGKILL the luigi process once ``kill_after`` redone tasks have written their markers (a load,
    a mart build, the checks): the next task is running then."""
    settings, full = three_days(env, tmp_path)
    try:
        correct_ga4(tmp_path / "landing" / f"ga4_events_{D:%Y%m%d}.csv", full)
        top = env.query("SELECT max(seq) FROM etl.partition_markers")[0][0]
        cfg = tmp_path / "kill.cfg"
        cfg.write_text(f"[warehouse]\ndsn = {env.dsn}\n[lake]\nroot = {env.lake}\n[demo]\nseed = 7\nsize = 1\n"
                       f"[content]\nlanding = {tmp_path / 'landing'}\n[runall]\npipelines = [\"content\"]\n"
                       f"[cli]\nlog_dir = {tmp_path / 'logs'}\n")
        proc = subprocess.Popen([sys.executable, "-m", "luigi", "--module", "workflows", "Rerun", "--date", str(D),
                                 "--pipeline", "content", "--from", "load", "--local-scheduler", "--no-lock"],
                                cwd=REPO, env={**os.environ, "LUIGI_CONFIG_PATH": str(cfg)},
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            # the invalidation committed and redone tasks wrote their markers: the next one is running now
            assert wait_for(lambda: env.query("SELECT count(*) FROM etl.partition_markers WHERE seq > %s",
                                              (top,))[0][0] >= kill_after, 120, proc), "the rerun ended before the kill"
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
        planned = {x.split("@")[0] for x, in env.query(
            "SELECT unnest(invalidated) FROM etl.reruns WHERE command LIKE 'Rerun%%'")}
        assert "extract/content/ga4_events" in planned and "build/content/article_daily_metrics" in planned
        ms = markers(env)
        present = {t for (t, d) in ms if d == D}
        assert planned - present, "killed after every task was redone: the test did not crash mid-run"
        print(f"\nkilled with {len(planned & present)} of {len(planned)} invalidated markers written again: "
              f"{sorted(planned & present)}")
        # every planned marker is gone or newer than the invalidation; none left from before it
        assert all(ms[(t, D)][0] > top for t in planned & present)
        # a marker that is there describes data that is there: the re-landed file is the corrected drop
        if "extract/content/ga4_events" in present:
            assert env.read_lake(f"raw/content/ga4_events/ds={D}/ga4_events.csv") == \
                (tmp_path / "landing" / f"ga4_events_{D:%Y%m%d}.csv").read_bytes()
        luigi.task_register.Register.clear_instance_cache()
        assert not RunAll(date=D).complete()

        build(RunAll(date=D))  # the next daily run repairs it
        assert_converged(env, DATES)
        luigi.task_register.Register.clear_instance_cache()
        assert RunAll(date=D).complete()
    finally:
        settings.__exit__(None, None, None)


@pytest.fixture
def only_content():
    with luigi_settings({"runall": {"pipelines": '["content"]'}}):
        yield


@pytest.mark.parametrize("env", ["s3"], indirect=True)
def test_a_corrected_drop_under_an_s3_prefix_is_seen(env, tmp_path, only_content):
    """The same comparison for drops in an s3:// landing prefix (moto's S3 server over HTTP)."""
    client, bucket = env.s3
    day = DATES[0]
    drops = landing(tmp_path / "landing")
    for entity, body in drops[day].items():
        client.put_object(Bucket=bucket, Key=f"landing/{entity}_{day:%Y%m%d}.csv", Body=body)
    with luigi_settings({"content": {"landing": f"s3://{bucket}/landing"}}):
        build(RunAll(date=day))
        key = f"landing/gam_delivery_{day:%Y%m%d}.csv"
        client.put_object(Bucket=bucket, Key=key, Body=drops[day]["gam_delivery"] + b"\n")  # one more byte
        out = dry_run(day, "stage")
        assert f"note: content/gam_delivery: the drop s3://{bucket}/{key}" in out and "rerun starts from extract" in out
        assert "extract/content/gam_delivery" in out and "extract/content/ga4_events" not in out
        assert "lines of the landed file are not in the drop" not in out  # it only added: nothing to say
        # a correction that drops lines: said too (the reload removes the rows only they delivered)
        landed = drops[day]["gam_delivery"].splitlines()
        shorter = landed[:-3]
        gone = len({ln for ln in landed[1:] if ln.strip()} - set(shorter[1:]))
        assert gone >= 1
        client.put_object(Bucket=bucket, Key=key, Body=b"\n".join(shorter) + b"\n")
        out = dry_run(day, "stage")
        assert (f"{gone:,} lines of the landed file are not in the drop: the merge into "
                "staging.content_gam_delivery removes the rows only they delivered") in out
        client.put_object(Bucket=bucket, Key=key, Body=drops[day]["gam_delivery"])  # the landed bytes again
        out = dry_run(day, "stage")
        assert "note:" not in out and "extract/content" not in out and "stage/content/gam_delivery" in out


def dry_run(day: dt.date, step: str) -> str:
    buf = io.StringIO()
    with redirect_stdout(buf):
        build(Rerun(date=day, pipeline="content", dry_run=True, **{"from": step}))
    return buf.getvalue()


# ── a correction that removes, changes and adds events (and GAM rows) ─────────────────────────────
D1 = DATES[1]  # corrected: a day with a later file, so that an event it shared with that file can move
GONE_CONTENT, GONE_ADS = 999_003, 999_002  # groups only D1's old files hold: the correction removes them


def share_and_mark(folder: Path) -> tuple[str, str]:
    """Before the first run: DATES[2]'s GA4 file re-sends an event D1's file delivers first, and D1's
    files hold a GA4 group and a GAM group that only they have. Returns (the shared line, the GAM line)."""
    ga4 = {ds: folder / f"ga4_events_{ds:%Y%m%d}.csv" for ds in DATES}
    earlier = {ga4_row(f) for _, f in records(ga4[DATES[0]].read_text())}
    shared = next(line for line in ga4[D1].read_text().splitlines()[1:]
                  if (row := ga4_row(fields(line))) is not None and row not in earlier)
    with open(ga4[DATES[2]], "a") as f:
        f.write(shared + "\n")
    with open(ga4[D1], "a") as f:
        for user in ("gone-1", "gone-2"):
            f.write(f"{D1}T06:00:00Z,page_view,{user},9,{GONE_CONTENT},,,desktop,US\n")
    ad = f"{D1}T07:00:00Z,news.example.com,/x/side,LI-G,CR-G,{GONE_ADS},300,3,0.750000"
    with open(folder / f"gam_delivery_{D1:%Y%m%d}.csv", "a") as f:
        f.write(ad + "\n")
    return shared, ad


def correct_d1(folder: Path, shared: str, ad: str) -> dict[str, set]:
    """The corrected D1 drops: GA4 without the shared event, the GONE_CONTENT group and every 7th line,
    every 11th line changed (engagement time), late events added for DATES[0] and D1; GAM without the
    GONE_ADS line, one key's values changed. Returns what each case is about, for the guards."""
    ga4 = folder / f"ga4_events_{D1:%Y%m%d}.csv"
    header, *lines = ga4.read_text().splitlines()
    kept, removed, changed = [], set(), set()
    for i, line in enumerate(lines):
        f = fields(line)
        row = ga4_row(f)
        if row is not None and (line == shared or row[4] == GONE_CONTENT or i % 7 == 3):
            removed.add(row)
        elif row is not None and i % 11 == 5:
            f[6] = str(4242 + i)
            changed.add(ga4_row(f))
            kept.append(quoted(f))
        else:
            kept.append(line)
    added = {f"{day}T0{i + 2}:03:04Z,page_view,late-{i},{70 + i},{1 + i},,12,mobile,DE"
             for i, day in enumerate((DATES[0], DATES[0], D1))}
    ga4.write_text("\n".join([header, *kept, *sorted(added)]) + "\n")
    gam = folder / f"gam_delivery_{D1:%Y%m%d}.csv"
    header, *lines = gam.read_text().splitlines()
    key = next(p[0] for p in map(gam_row, map(fields, lines)) if p is not None and p[0][4] != GONE_ADS)
    out = []
    for line in lines:
        if line == ad:
            continue
        f = fields(line)
        parsed = gam_row(f)
        if parsed is not None and parsed[0] == key:
            f[6] = str(parsed[1][1] + 1000)
            line = quoted(f)
        out.append(line)
    gam.write_text("\n".join([header, *out]) + "\n")
    return {"removed": removed, "changed": changed, "added": {ga4_row(fields(a)) for a in added}, "gam_key": {key}}


def luigi_cli(env, tmp_path, *args) -> subprocess.CompletedProcess:
    """The real command line, in its own process: ``luigi --module workflows <args> --local-scheduler``."""
    cfg = tmp_path / "cli.cfg"
    cfg.write_text(f"[warehouse]\ndsn = {env.dsn}\n[lake]\nroot = {env.lake}\n[demo]\nseed = 7\nsize = 1\n"
                   f"[fakestore]\nbase_url =\n[content]\nlanding = {tmp_path / 'landing'}\n"
                   f"[cli]\nlog_dir = {tmp_path / 'logs'}\n")
    return subprocess.run([sys.executable, "-m", "luigi", "--module", "workflows", *args, "--local-scheduler",
                           "--no-lock"], cwd=REPO, env={**os.environ, "LUIGI_CONFIG_PATH": str(cfg)},
                          capture_output=True, text=True, timeout=900)


def staged_events(env) -> dict[tuple, dt.date]:
    return {tuple(r[:-1]): r[-1] for r in env.query(
        """SELECT event_at, event_name, user_pseudo_id, session_id, content_id, page_location,
                  engagement_time_msec, device_category, country, ds FROM staging.content_ga4_events""")}


@LOCAL
def test_rerun_after_a_correction_that_removes_changes_and_adds_rows(env, tmp_path):
    folder = tmp_path / "landing"
    landing(folder)
    shared, ad = share_and_mark(folder)
    with luigi_settings({"content": {"landing": str(folder)}}):
        for ds in DATES:
            build(RunAll(date=ds))
        before_model = assert_converged(env, DATES)
        shared_row = ga4_row(fields(shared))
        assert staged_events(env)[shared_row] == D1  # D1 delivered it first; DATES[2] re-sent it
        before_marts, before_markers = marts(env), markers(env)
        assert (D1, GONE_CONTENT) in before_marts["article"] and (D1, GONE_ADS) in before_marts["ads"]
        others, files = other_tables(env), lake_files(Path(env.lake), "content")
        cases = correct_d1(folder, shared, ad)

        done = luigi_cli(env, tmp_path, "Rerun", "--date", str(D1), "--pipeline", "content", "--from", "load")
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert "note: content/ga4_events: the drop" in done.stdout and "note: content/gam_delivery: the drop" in done.stdout
        assert "removes the rows only they delivered" in done.stdout
        for entity in ("ga4_events", "gam_delivery"):  # landed again
            assert env.read_lake(f"raw/content/{entity}/ds={D1}/{entity}.csv") == \
                (folder / f"{entity}_{D1:%Y%m%d}.csv").read_bytes()
        # staging and every content mart = the model over the files as they now are
        model = assert_converged(env, DATES)
        staged, after = staged_events(env), marts(env)
        # guards: each case is really there, so the equality above is not vacuous
        assert staged[shared_row] == DATES[2]  # only the later file holds it now: it moved there
        only_old = cases["removed"] - set(model.first_file)
        assert len(only_old) > 10 and not only_old & set(staged)  # removed rows left staging
        assert cases["changed"] <= set(staged) and cases["added"] <= set(staged)
        assert {e[0].date() for e in cases["added"]} == {DATES[0], D1}
        assert (D1, GONE_CONTENT) not in after["article"] and (D1, GONE_ADS) not in after["ads"]  # groups deleted
        assert (D1, GONE_CONTENT) not in after["summary"] and (D1, GONE_ADS) not in after["summary"]
        (key,) = cases["gam_key"]
        assert after["ads"][key[0].date(), key[4]] != before_marts["ads"][key[0].date(), key[4]]
        assert model.article_daily_metrics() != before_model.article_daily_metrics()
        moved = {k for k in after["article"].keys() | before_marts["article"].keys()
                 if after["article"].get(k) != before_marts["article"].get(k)}
        assert {DATES[0], D1} <= {day for day, _ in moved}
        # only D1's content markers were redone; other pipelines untouched: tables, DQ rows, lake files, markers
        ms = markers(env)
        assert {d for (t, d), v in ms.items() if before_markers.get((t, d)) != v} == {D1}
        assert of_others(ms) == of_others(before_markers)
        assert other_tables(env) == others
        assert lake_files(Path(env.lake), "content") == files

        # the same command again (the drop is the landed file now): every load and mart writes nothing
        # (the CMS snapshot is replaced whole by design: not compared)
        merged = CONTENT_TABLES - {"staging.content_cms_articles"} | {"mart.daily_summary", "staging.content_removed_keys"}
        rows = {t: set(env.query(f"SELECT xmin::text, t::text FROM {t} t")) for t in merged}
        again = luigi_cli(env, tmp_path, "Rerun", "--date", str(D1), "--pipeline", "content", "--from", "load")
        assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
        assert "note:" not in again.stdout
        assert {t: set(env.query(f"SELECT xmin::text, t::text FROM {t} t")) for t in merged} == rows
        assert_converged(env, DATES)
