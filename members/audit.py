"""The audit trail: every state change in a collective, with before and after."""

from collections.abc import Callable

from django.db import models

from .models import AuditEvent, Collective


def audit_record(
    *,
    collective: Collective,
    actor,
    action: str,
    target: models.Model | None = None,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        collective=collective,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=str(target)[:200] if target is not None else "",
        before=before,
        after=after,
    )


# Apps register functions that, given audit events, name those whose who and what must stay hidden for now (a
# cobudget round that hides who gave what until its close).
AuditRedactor = Callable[[list[AuditEvent]], set[int]]
_redactors: list[AuditRedactor] = []


def audit_redactor(redactor: AuditRedactor) -> AuditRedactor:
    if redactor not in _redactors:
        _redactors.append(redactor)
    return redactor


def audit_redacted(events: list[AuditEvent]) -> list[AuditEvent]:
    """The events as a reader may see them: those an app hides keep their action and target, not who nor what."""
    hidden = set().union(*(redactor(events) for redactor in _redactors)) if _redactors else set()
    for event in events:
        event.hidden = event.pk in hidden
        if event.hidden:
            event.actor, event.actor_id, event.before, event.after = None, None, None, None
    return events
