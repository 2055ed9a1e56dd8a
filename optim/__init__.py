"""The engine: update rules, learning-rate schedules and the trajectory runner."""

from optim import rules_modern  # noqa: F401  (registers the modern rules into OPTIMIZERS)
from optim.rules import OPTIMIZERS, HParam, Optimizer, get_optimizer
from optim.runner import Trajectory, batch_plan, run, run_many, run_minibatch
from optim.schedules import SCHEDULES, Schedule, get_schedule

__all__ = [
    "OPTIMIZERS", "SCHEDULES", "HParam", "Optimizer", "Schedule", "Trajectory",
    "batch_plan", "get_optimizer", "get_schedule", "run", "run_many", "run_minibatch",
]
