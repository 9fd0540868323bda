"""What every collective-owned model shares: one way to scope queries."""

from django.apps import apps
from django.db import models


def record_label(model) -> str:
    """How the append-only records (ledger links, audit targets) name a model or an instance of it: its label,
    unless the model declares the `record_label` it was first recorded under before it moved apps."""
    return getattr(model, "record_label", None) or model._meta.label_lower


def model_of_record_label(label: str):
    """The model a record names (see `record_label`), or None."""
    for model in apps.get_models():
        if record_label(model) == label:
            return model
    return None


class CollectiveScopedQuerySet(models.QuerySet):
    def of(self, collective) -> "CollectiveScopedQuerySet":
        return self.filter(collective=collective)


class CollectiveOwned(models.Model):
    """A row that belongs to exactly one collective (the tenant).

    Collective-owned data is only ever read through `Model.objects.of(collective)`,
    so that one line decides what a tenant can see.
    """

    collective = models.ForeignKey(
        "members.Collective", on_delete=models.PROTECT, related_name="+"
    )

    objects = CollectiveScopedQuerySet.as_manager()

    class Meta:
        abstract = True


class IdempotencyRecord(models.Model):
    """The first answer to a request sent with an idempotency key (or a page form's one-time token), so a repeat
    returns it instead of doing the work again. Kept 24 hours."""

    class State(models.TextChoices):
        RUNNING = "running"
        DONE = "done"

    user = models.ForeignKey("members.User", on_delete=models.CASCADE, related_name="+")
    # "api:<Idempotency-Key>" or "form:<token>".
    key = models.CharField(max_length=300)
    fingerprint = models.CharField(max_length=64)
    state = models.CharField(max_length=10, choices=State.choices, default=State.RUNNING)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    content_type = models.CharField(max_length=200, blank=True)
    location = models.CharField(max_length=2000, blank=True)
    body = models.BinaryField(default=b"")
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_once_per_person")]

    def __str__(self) -> str:
        return f"{self.key} by {self.user_id} ({self.state})"
