"""While a round hides who gave what, the audit log hides it too: allocations, take-backs and merges of its
buckets keep their action and bucket, not who nor how much, until the close."""

from members.audit import audit_redactor

from .models import Bucket, RoundStatus

HIDDEN_ACTIONS = ("cobudget.allocate", "cobudget.retract", "cobudget.bucket_merged")


@audit_redactor
def hidden_allocations(events) -> set[int]:
    candidates = [event for event in events
                  if event.action in HIDDEN_ACTIONS and event.target_type == "cobudget.bucket" and event.target_id]
    if not candidates:
        return set()
    hidden_buckets = {str(pk) for pk in Bucket.objects.filter(
        collective_id__in={event.collective_id for event in candidates},
        pk__in={int(event.target_id) for event in candidates}, round__hide_allocations_until_close=True,
    ).exclude(round__status=RoundStatus.CLOSED).values_list("pk", flat=True)}
    return {event.pk for event in candidates if event.target_id in hidden_buckets}
