"""The engine: update rules, learning-rate schedules and the trajectory runner.

NumPy's BLAS runs on one thread in any process that loads the engine.  Beside JAX's own threads on
2 cores, OpenBLAS's threads wait on each other: measured, one ``eigh`` of the landscape page's
404 × 404 Gram matrix took 2.4–2.8 s instead of 10–40 ms while the machine was loaded (load average
3–4), and 37 ms in the same process once limited to one thread.  The app's matrices are small; a
server's sessions share the cores anyway."""

import os

from threadpoolctl import threadpool_limits

from optim import rules_modern  # noqa: F401  (registers the modern rules into OPTIMIZERS)
from optim.rules import OPTIMIZERS, HParam, Optimizer, get_optimizer
from optim.runner import Trajectory, batch_plan, run, run_many, run_minibatch
from optim.schedules import SCHEDULES, Schedule, get_schedule

threadpool_limits(1, user_api="blas")  # the BLAS loaded by now (NumPy's: the rules import it)
os.environ["OPENBLAS_NUM_THREADS"] = "1"  # and one loaded later (SciPy's, for viz.surface) reads this

__all__ = [
    "OPTIMIZERS", "SCHEDULES", "HParam", "Optimizer", "Schedule", "Trajectory",
    "batch_plan", "get_optimizer", "get_schedule", "run", "run_many", "run_minibatch",
]
