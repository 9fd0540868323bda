import os
from contextvars import Token

from celery import Celery
from celery.signals import task_postrun, task_prerun

from contrib_budget import scopes

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contrib_budget.settings")

app = Celery("contrib_budget")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# A task works for the system, across collectives (contrib_budget.scopes); tokens by task id, since a task run
# eagerly inside a request nests in the request's scope and gives it back after.
_scope_tokens: dict[str, Token[scopes.Scope]] = {}


@task_prerun.connect
def _enter_every_collective(task_id: str, **_kwargs: object) -> None:
    _scope_tokens[task_id] = scopes.enter(scopes.EVERY)


@task_postrun.connect
def _leave_every_collective(task_id: str, **_kwargs: object) -> None:
    token = _scope_tokens.pop(task_id, None)
    if token is not None:
        scopes.leave(token)
