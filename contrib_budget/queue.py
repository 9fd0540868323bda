"""Queueing a Celery task never breaks the request that asked for it.

When the broker is down, the change is already committed: the task is
logged and left to the beat job that sweeps its kind of work (unsent
notification and invitation emails, pending exports), which queues it again
once the broker is back. Nothing is lost, and the person who acted gets their
answer at once: the publish is not retried, and the broker's transport options
(settings: CELERY_BROKER_TRANSPORT_OPTIONS) make the connection fail fast.
"""

import logging

from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)


def enqueue(task, *args) -> bool:
    """Send `task` with `args`; False (and a warning) when the broker cannot take it now."""
    try:
        task.apply_async(args=args, retry=False)
    except (OperationalError, OSError):
        logger.warning("queue: %s%r could not be queued (broker unavailable); its sweep will queue it again",
                       task.name, args)
        return False
    return True
