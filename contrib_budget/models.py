"""What every collective-owned model shares: one way to scope queries."""

from functools import cache

from django.apps import apps
from django.db import models
from django.utils.encoding import force_str

from .scopes import EVERY, OutOfScope, active_scope


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


def _collective_id(collective) -> int | None:
    return getattr(collective, "pk", collective)


class CollectiveScopedQuerySet(models.QuerySet):
    def of(self, collective) -> "CollectiveScopedQuerySet":
        # By the column, not the relation: the ORM then has no related object to resolve.
        return self.filter(collective_id=_collective_id(collective))


class CollectiveScopedManager(models.Manager.from_queryset(CollectiveScopedQuerySet)):  # type: ignore[misc]
    """Every query starts inside the active collective scope (contrib_budget.scopes), or raises."""

    def get_queryset(self) -> CollectiveScopedQuerySet:
        queryset = super().get_queryset()
        scope = active_scope()
        if scope == EVERY:
            return queryset
        if scope is None:
            raise OutOfScope(f"{self.model._meta.label} was queried outside a collective scope")
        return queryset.filter(collective_id=scope)

    def of(self, collective) -> CollectiveScopedQuerySet:
        """The rows of `collective`. Inside its own scope the manager's queryset holds them already, and filtering
        again would only make every query compile the same condition twice; another collective finds nothing."""
        queryset = self.get_queryset()
        collective_id = _collective_id(collective)
        if collective_id is not None and collective_id == active_scope():
            return queryset
        return queryset.of(collective_id)

    def none(self) -> CollectiveScopedQuerySet:
        # An empty queryset reads nothing: views and forms name their model with it before any scope exists.
        return super().get_queryset().none()


class CollectiveOwned(models.Model):
    """A row that belongs to exactly one collective (the tenant).

    Collective-owned data is read through `Model.objects.of(collective)` inside the collective's scope; a
    query outside any scope raises (contrib_budget.scopes).
    """

    collective = models.ForeignKey(
        "members.Collective", on_delete=models.PROTECT, related_name="+"
    )

    objects = CollectiveScopedManager()

    class Meta:
        abstract = True

    def _get_FIELD_display(self, field: models.Field) -> str:
        """`get_<field>_display()`, which list pages call once a row: Django's builds a dict of every choice on
        each call, translating every label to hash it; this one looks the value up in a dict kept per field and
        translates the row's label only."""
        value = getattr(self, field.attname)
        return force_str(_labels_of(field).get(value, value), strings_only=True)


@cache
def _labels_of(field: models.Field) -> dict:
    return dict(field.flatchoices)


class KeptByTheDatabase(models.Model):
    """A model some of whose columns the database keeps (by triggers, as totals of other rows): `save()` of a row
    already stored never writes them, so an instance read before the database moved them cannot undo the move.
    A new row starts them at their default."""

    kept_by_the_database: tuple[str, ...] = ()

    class Meta:
        abstract = True

    def save(self, *, update_fields=None, **options) -> None:
        if update_fields is None and not self._state.adding:
            update_fields = [field.name for field in self._meta.concrete_fields
                             if not field.primary_key and field.name not in self.kept_by_the_database]
        super().save(update_fields=update_fields, **options)


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
