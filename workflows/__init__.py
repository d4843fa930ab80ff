"""Luigi workflows: ``luigi --module workflows RunAll --date 2026-11-20``.

Public tasks: RunAll, DQReport, KPIReport, Pack, and the generic tasks Extract, Stage, Load, Mart, Check.
RangeDaily is imported so ``luigi --module workflows RangeDaily --of RunAll …`` resolves.
"""
from luigi.tools.range import RangeDaily

from workflows import settings

if settings.invoked_by_luigi_cli():  # one clear line per bad setting, before anything is scheduled
    settings.validate_or_exit()

from workflows import runlog  # noqa: F401 - registers the run-log and alert event handlers
from workflows.extract import Extract
from workflows.kpi import KPIReport
from workflows.load import Load
from workflows.mart import Mart
from workflows.pack import Pack
from workflows.pipelines.activity.export import ActivityExport
from workflows.pipelines.content.refresh import RefreshDailySummary
from workflows.quality import Check
from workflows.report import DQReport
from workflows.runall import RunAll
from workflows.stage import Stage

__all__ = ["RunAll", "Extract", "Stage", "Load", "Mart", "Check", "DQReport", "RangeDaily",
           "ActivityExport", "RefreshDailySummary", "KPIReport", "Pack"]
