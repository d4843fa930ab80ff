"""The default gates every entity gets without declaring anything, and their thresholds.

- ``volume_staged_when_raw`` (error): raw units > 0 and nothing staged fails.
- ``quarantine_share`` (error): more than ``[quality] max_quarantine_share`` of the raw units
  quarantined fails; more than ``warn_quarantine_share`` warns.
- ``reconciliation_raw_vs_staged`` (error): raw units = staged + quarantined units; a missing
  lake file is a failure, not a pass.
- ``reconciliation_parquet_vs_table`` (error, replace-mode entities): staged Parquet rows =
  staging rows of the ds. Merge entities get ``reconciliation_parquet_keys_in_table`` instead
  (every key of the staged file is in the staging table after the merge), when their key is a
  staged column.
- ``volume_raw_present`` and ``volume_vs_history`` (warn; file drops and HTTP sources, not the
  incremental database extracts whose empty days are normal): an empty drop; staged rows more
  than ``history_max_drop`` below the median of the previous ``history_days`` loaded days.

A declared check with a default's name replaces it (e.g. ``{"type": "volume", "rule":
"raw_present", "severity": "error"}``); ``"enabled": false`` drops it.
"""
from __future__ import annotations

import luigi.configuration

from workflows.config import quality
from workflows.declarations import Entity, Table

_SETTINGS: list = [None, None]   # ([quality] options as configured, the parsed section)


def default_gates(entity: Entity) -> list[dict]:
    """The default checks of ``entity`` (as declarations)."""
    gates: list[dict] = [
        {"type": "volume", "rule": "staged_when_raw"},
        {"type": "quarantine_share"},
        {"type": "reconciliation", "between": "raw_vs_staged"},
    ]
    staged = {c.name for c in entity.columns}
    if not entity.merge_sql:
        gates.append({"type": "reconciliation", "between": "parquet_vs_table"})
    elif entity.key and set(entity.key) <= staged:
        gates.append({"type": "reconciliation", "between": "parquet_keys_in_table", "key": list(entity.key)})
    if not isinstance(entity.source, Table):
        gates += [{"type": "volume", "rule": "raw_present", "severity": "warn"},
                  {"type": "volume", "rule": "vs_history", "severity": "warn"}]
    return gates


def settings() -> quality:
    """The [quality] section, parsed again only when its configured options change (completeness
    checks read it many times)."""
    cfg = luigi.configuration.get_config()
    configured = tuple(sorted(cfg.items("quality"))) if cfg.has_section("quality") else ()
    if _SETTINGS[0] != configured or _SETTINGS[1] is None:
        _SETTINGS[:] = [configured, quality()]
    return _SETTINGS[1]


def thresholds() -> dict:
    """The [quality] thresholds the default gates read (part of every audit's stamp)."""
    cfg = settings()
    return {"max_quarantine_share": cfg.max_quarantine_share, "warn_quarantine_share": cfg.warn_quarantine_share,
            "history_days": cfg.history_days, "history_min_days": cfg.history_min_days,
            "history_max_drop": cfg.history_max_drop}
