"""Luigi workflows: ``luigi --module workflows RunAll --date 2026-11-20``.

Public tasks: RunAll, DQReport, KPIReport, Pack, Rerun, Status, and the generic tasks Extract, Stage, Load,
Mart, Refresh, Export, Check. RangeDaily is imported so ``luigi --module workflows RangeDaily --of RunAll …``
resolves.
"""
from luigi.tools.range import RangeDaily

from workflows import config

if config.invoked_by_luigi_cli():  # one clear line per bad setting, before anything is scheduled
    config.validate_or_exit()
    from workflows import terminal

    terminal.install()  # one line per task, a closing table, one-line errors, the log in a file

from workflows import runlog  # noqa: E402,F401 - registers the run-log and alert event handlers
from workflows.tasks.check import Check  # noqa: E402
from workflows.tasks.export import Export  # noqa: E402
from workflows.tasks.extract import Extract  # noqa: E402
from workflows.tasks.kpi import KPIReport  # noqa: E402
from workflows.tasks.load import Load  # noqa: E402
from workflows.tasks.mart import Mart  # noqa: E402
from workflows.tasks.pack import Pack  # noqa: E402
from workflows.tasks.refresh import Refresh  # noqa: E402
from workflows.tasks.report import DQReport  # noqa: E402
from workflows.tasks.rerun import Rerun  # noqa: E402
from workflows.tasks.runall import RunAll  # noqa: E402
from workflows.tasks.stage import Stage  # noqa: E402
from workflows.status import Status  # noqa: E402

__all__ = ["RunAll", "Extract", "Stage", "Load", "Mart", "Refresh", "Export", "Check", "DQReport", "KPIReport", "Pack",
           "RangeDaily", "Rerun", "Status"]
