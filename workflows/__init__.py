"""Luigi workflows: ``luigi --module workflows RunAll --date 2026-11-20``.

Public tasks: RunAll, and the generic stage tasks Extract, Stage, Load, Mart.
RangeDaily is imported so ``luigi --module workflows RangeDaily --of RunAll …`` resolves.
"""
from luigi.tools.range import RangeDaily

from workflows.extract import Extract
from workflows.load import Load
from workflows.mart import Mart
from workflows.runall import RunAll
from workflows.stage import Stage

__all__ = ["RunAll", "Extract", "Stage", "Load", "Mart", "RangeDaily"]
