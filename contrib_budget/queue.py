"""Queueing a Celery task never breaks the request that asked for it.

When the broker is down, the change is already committed: the task is
logged and left to the beat job that sweeps its kind of work (unsent
notification and invitation emails, pending exports), which queues it again
once the broker is back. Nothing is lost, and the person who acted gets their
answer at once: the publish is not retried, and the broker's transport options
(settings: CELERY_BROKER_TRANSPORT_OPTIONS) make the connection fail fast.

Tasks are named, not imported: a service queues the task that will call it back (an export, an invitation
email) without importing the tasks module that imports the service. Each app's tasks module is loaded with the
app (its AppConfig.ready), so the name is always registered, and an unknown name fails loudly.
"""

import logging

from celery import current_app
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)


def enqueue(task_name: str, *args: object) -> bool:
    """Send the task named `task_name` with `args`; False (and a warning) when the broker cannot take it now."""
    task = current_app.tasks[task_name]
    try:
        task.apply_async(args=args, retry=False)
    except (OperationalError, OSError):
        logger.warning("queue: %s%r could not be queued (broker unavailable); its sweep will queue it again",
                       task_name, args)
        return False
    return True
