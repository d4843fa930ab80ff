"""Containers keep their outputs, and compose backfills the same window as luigi.cfg (checked
without a Docker engine, from the Dockerfile, docker-compose.yml and the configs)."""
from __future__ import annotations

import configparser
import re
import shlex
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = (REPO / "Dockerfile").read_text()
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())


def cfg(path: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(REPO / path)
    return parser


def instructions() -> list[tuple[str, str]]:
    lines = re.sub(r"\\\n", " ", DOCKERFILE).splitlines()
    return [tuple(line.split(None, 1)) for line in lines if line.strip() and not line.lstrip().startswith("#")]


def test_the_image_data_folder_is_a_volume_holding_every_local_output():
    steps = instructions()
    workdir = [arg for op, arg in steps if op == "WORKDIR"][-1]
    volumes = [yaml.safe_load(arg) for op, arg in steps if op == "VOLUME"]
    assert workdir == "/app" and ["/app/data"] in volumes
    # declared after the step that creates and chowns it, or a new volume would not start owned by `app`
    chown = max(i for i, (op, arg) in enumerate(steps) if op == "RUN" and "chown" in arg and "/app/data" in arg)
    assert chown < next(i for i, (op, arg) in enumerate(steps) if op == "VOLUME")
    defaults = cfg("luigi.cfg")
    for section, option in (("lake", "root"), ("warehouse", "pgdata")):  # lake (reports, logs, packs) and warehouse
        value = defaults.get(section, option)
        assert not value.startswith("/") and (Path(workdir) / value).is_relative_to("/app/data"), (section, value)


def test_compose_mounts_the_data_folder_and_names_its_volume():
    worker = COMPOSE["services"]["worker"]
    mounts = dict(v.split(":", 1)[::-1] for v in worker["volumes"])
    assert mounts["/app/data"] in COMPOSE["volumes"]


def test_compose_backfills_the_window_luigi_cfg_sets():
    window = {k: cfg("luigi.cfg").getint("RangeDaily", k) for k in ("days_back", "task_limit")}
    compose_cfg = cfg("conf/compose.cfg")
    if compose_cfg.has_section("RangeDaily"):
        assert {k: compose_cfg.getint("RangeDaily", k, fallback=v) for k, v in window.items()} == window
    sh, flag, script = COMPOSE["services"]["worker"]["command"]
    assert (sh, flag) == ("sh", "-c")
    command = shlex.split(script.replace("\\\n", " "), comments=True)
    assert "RangeDaily" in command
    for flag, key in (("--days-back", "days_back"), ("--task-limit", "task_limit"),
                      ("--RangeDaily-days-back", "days_back"), ("--RangeDaily-task-limit", "task_limit")):
        if flag in command:
            assert int(command[command.index(flag) + 1]) == window[key], flag
