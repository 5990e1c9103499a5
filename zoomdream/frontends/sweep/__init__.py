"""``zoomdream sweep``: many renders of one recipe (or several), compared on one page.

One zoom is sequential, so what scales out is many renders: ``grid`` turns recipes, ``--grid``
values and a recipe's ``sweep:`` section into cells, each validated before anything renders;
``runner`` renders the cells that are not finished with an engine (``local`` threads, one per
GPU, or ``ray`` tasks on a cluster) and keeps ``page``'s ``sweep.json`` and ``index.html``
current as cells finish. A cell is an ordinary render folder, so a stopped or killed sweep
resumes cell by cell from the engine's own checkpoints. Importing this package imports no torch.
"""

from .cell import Outcome
from .engines import ENGINES
from .grid import Cell, Sweep, SweepError, parse_grid, plan
from .runner import Report, run

__all__ = ["ENGINES", "Cell", "Outcome", "Report", "Sweep", "SweepError", "parse_grid", "plan", "run"]
