"""The ``[activity]`` config section (luigi.Config): landing, pseudonym key, demo size, staging batch."""
from __future__ import annotations

import logging

import luigi
from luigi.parameter import ParameterVisibility

log = logging.getLogger("luigi-interface")

DEMO_PSEUDONYM_KEY = "DEMO-ONLY-activity-pseudonym-key-set-ACTIVITY_PSEUDONYM_KEY"
_warned: list[bool] = []


class activity(luigi.Config):  # noqa: N801 - section name [activity]
    landing = luigi.Parameter(
        default="",
        description="Folder or s3://bucket/prefix holding user_activities_YYYYMMDD.jsonl and "
        "api_logs_YYYYMMDD.jsonl; empty = generated demo drops",
    )
    pseudonym_key = luigi.Parameter(
        default="",
        significant=False,
        visibility=ParameterVisibility.PRIVATE,
        description="HMAC-SHA256 key for user_id pseudonyms (use ${ACTIVITY_PSEUDONYM_KEY}); "
        "empty = a demo key, with a warning",
    )
    demo_lines = luigi.IntParameter(default=2000, description="Generated lines per source file and day, x [demo] size")
    demo_defect_rate = luigi.FloatParameter(default=0.02, description="Share of generated lines with a defect")
    demo_landing = luigi.Parameter(default="", description="Folder for generated drops; empty = <tmp>/luigi-warehouse-activity")
    batch_rows = luigi.IntParameter(default=50_000, description="Rows per Parquet record batch when staging")
    validation = luigi.ChoiceParameter(
        default="fast", choices=("fast", "full"),
        description="fast: jsonschema only for lines failing a cheap typed check derived from the schema; "
        "full: jsonschema on every line",
    )


def pseudonym_key() -> bytes:
    """The configured HMAC key, or — for generated drops only — the demo key (logged once as a
    warning). Real drops (a ``landing`` is set) without a key are refused: a public key makes the
    pseudonyms reversible by enumerating ids."""
    cfg = activity()
    key = cfg.pseudonym_key
    if key:
        return key.encode()
    if cfg.landing.strip():
        raise ValueError("[activity] pseudonym_key is empty while [activity] landing points at real drops: "
                         "set pseudonym_key = ${ACTIVITY_PSEUDONYM_KEY}")
    if not _warned:
        _warned.append(True)
        log.warning("[activity] pseudonym_key is empty: pseudonymising user ids with the public DEMO key; "
                    "set pseudonym_key = ${ACTIVITY_PSEUDONYM_KEY} for real data")
    return DEMO_PSEUDONYM_KEY.encode()
