"""Supervisors, child specs, restart policies, and running a tree as a process."""

from ._base import BaseSupervisor, SupervisorState, SupervisorStatistics
from ._child import ChildState, ChildStatistics
from ._dynamic import DynamicSupervisor
from ._errors import (
    StartFailed,
    SupervisionError,
    SupervisorGaveUp,
    SupervisorNotRunning,
    TooManyChildren,
)
from ._run import Outcome, RunResult, run, run_tree, serve_tree
from ._spec import Backoff, ChildSpec, Restart, RestartIntensity, Strategy
from ._supervisor import Supervisor

__all__ = [
    "Backoff",
    "BaseSupervisor",
    "ChildSpec",
    "ChildState",
    "ChildStatistics",
    "DynamicSupervisor",
    "Outcome",
    "Restart",
    "RestartIntensity",
    "RunResult",
    "StartFailed",
    "Strategy",
    "SupervisionError",
    "Supervisor",
    "SupervisorGaveUp",
    "SupervisorNotRunning",
    "SupervisorState",
    "SupervisorStatistics",
    "TooManyChildren",
    "run",
    "run_tree",
    "serve_tree",
]
