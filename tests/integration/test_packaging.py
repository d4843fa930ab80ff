"""The project works as an installed package: a wheel built from the sources (a copy of the
checkout), installed into a fresh virtual environment outside the checkout, runs RunAll for a
date from another directory — its schemas and SQL found through the package, not the checkout."""
from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DS = "2026-11-20"


def _run(cmd, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    src, out = tmp_path_factory.mktemp("src"), tmp_path_factory.mktemp("wheel")
    files = _run(["git", "ls-files", "-z"], cwd=REPO).stdout.split("\0")
    for name in filter(None, files):
        if (REPO / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            (src / name).write_bytes((REPO / name).read_bytes())
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out),
                  str(src)])
    assert built.returncode == 0, built.stderr[-2000:]
    return next(out.glob("luigi_warehouse-*.whl"))


def test_wheel_installed_outside_the_checkout_runs_runall(wheel, tmp_path, pg_dsn):
    venv = tmp_path / "venv"
    assert _run([sys.executable, "-m", "venv", str(venv)]).returncode == 0
    python = venv / "bin" / "python"
    installed = _run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)])
    assert installed.returncode == 0, installed.stderr[-2000:]
    # the dependencies: this test environment's site-packages, after the fresh one (not its editable install)
    fresh_site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
                      .stdout.strip())
    (fresh_site / "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    where = tmp_path / "elsewhere"
    where.mkdir()
    cfg = where / "prod.cfg"
    cfg.write_text(f"[core]\nautoload_range = false\n[warehouse]\ndsn = {pg_dsn}\n[lake]\nroot = {where / 'lake'}\n"
                   "[retcode]\ntask_failed = 30\nscheduling_error = 35\nunhandled_exception = 40\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LUIGI_CONFIG_PATH")}
    env["LUIGI_CONFIG_PATH"] = str(cfg)
    origin = _run([str(python), "-c", "import workflows; print(workflows.__file__)"], cwd=where, env=env)
    assert origin.stdout.strip().startswith(str(fresh_site)), origin.stdout + origin.stderr
    run = _run([str(python), "-m", "luigi", "--module", "workflows", "RunAll", "--date", DS, "--local-scheduler"],
               cwd=where, env=env)
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    assert (where / "lake" / "reports" / "dq" / f"ds={DS}" / f"dq_report_{DS}.xlsx").is_file()
    for pipeline in ("fakestore", "content", "activity", "bikes", "library"):
        assert list((where / "lake" / "staging" / pipeline).iterdir()), pipeline
