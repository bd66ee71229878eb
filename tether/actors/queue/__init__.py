"""The priority work queue: a queue actor, a pool of workers, a memory or Redis backend.

See docs/queue.md. Build the subtree with `queue_supervisor(backend, workers=, capacity=)`,
register handlers on it before it runs, and ask its queue actor (`sup.queue`, or the name
"queue" from inside the subtree) to `Enqueue`.
"""

from ._backend import Backend, BackendUnavailable, Tick
from ._config import Handler, Handlers, QueueConfig, Registration
from ._core import (
    DEFAULT_STARVATION_LIMIT,
    Counts,
    Lease,
    QueueCore,
    QueueFull,
    QueueItem,
    RetryPolicy,
    choose,
)
from ._memory import MemoryBackend
from ._messages import (
    Enqueue,
    EnqueueAndNotify,
    EnqueueBatch,
    Enqueued,
    GetQueueStatistics,
    ListDead,
    PurgeDead,
    QueueStatistics,
    RejectCode,
    Rejected,
    ReplayDead,
)
from ._tree import QueueSupervisor, queue_supervisor, worker_name
from ._worker import QUEUE_NAME

# The kind of the items that carry topic publishes (registered by the service).
PUBLISH_KIND = "publish"

__all__ = [
    "DEFAULT_STARVATION_LIMIT",
    "PUBLISH_KIND",
    "QUEUE_NAME",
    "Backend",
    "BackendUnavailable",
    "Counts",
    "Enqueue",
    "EnqueueAndNotify",
    "EnqueueBatch",
    "Enqueued",
    "GetQueueStatistics",
    "Handler",
    "Handlers",
    "Lease",
    "ListDead",
    "MemoryBackend",
    "PurgeDead",
    "QueueConfig",
    "QueueCore",
    "QueueFull",
    "QueueItem",
    "QueueStatistics",
    "QueueSupervisor",
    "Registration",
    "RejectCode",
    "Rejected",
    "ReplayDead",
    "RetryPolicy",
    "Tick",
    "choose",
    "queue_supervisor",
    "worker_name",
]
