"""What every collective-owned model shares: one way to scope queries."""

from django.db import models


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
