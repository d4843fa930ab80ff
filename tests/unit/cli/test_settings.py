"""Settings do not depend on the working directory: package defaults equal the checkout's luigi.cfg,
relative paths resolve against the project."""
from __future__ import annotations

import configparser
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def _parsed(path: Path) -> dict:
    parser = configparser.RawConfigParser()
    parser.read(path)
    return {s: dict(parser.items(s)) for s in parser.sections()}


def test_package_defaults_equal_the_checkouts_luigi_cfg():
    assert _parsed(REPO / "workflows" / "defaults.cfg") == _parsed(REPO / "luigi.cfg")


def test_paths_and_exit_codes_are_the_same_from_another_directory(tmp_path):
    code = ("import workflows.config as c, luigi.configuration as lc; cfg = lc.get_config(); "
            "print(c.lake().root, c.warehouse().pgdata, c.cli().log_dir, cfg.getint('retcode', 'task_failed'))")
    env = {k: v for k, v in os.environ.items() if k not in ("LUIGI_CONFIG_PATH", "WAREHOUSE_HOME")}
    outs = {subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True,
                           check=True).stdout.strip() for cwd in ("/", tmp_path, REPO)}
    assert outs == {f"{REPO}/data/lake {REPO}/data/pg {REPO}/data/logs 30"}


def test_relative_path_in_an_outside_config_file_is_relative_to_that_file(tmp_path):
    (tmp_path / "prod.cfg").write_text("[lake]\nroot = lake\n")
    code = "import workflows.config as c; print(c.lake().root)"
    env = {**os.environ, "LUIGI_CONFIG_PATH": str(tmp_path / "prod.cfg")}
    out = subprocess.run([sys.executable, "-c", code], cwd="/", env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(tmp_path / "lake")
