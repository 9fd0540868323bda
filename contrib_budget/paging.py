"""Pages of long lists of wide, joined rows (the payouts, with their people, declarations and budgets).

Sorting the whole joined rows to keep fifty of them makes PostgreSQL sort hundreds of wide rows per kept one,
spilling to disk past a few thousand. The page's ids are found first, by a query that carries only the ordering
columns and the id (read from an index in the list's order, or a top-N sort in memory), then only those rows are
read with everything the page shows."""

from django.db.models import QuerySet


class IdsFirst:
    """Wraps an ordered queryset for a Paginator: counts it, and reads a slice in the two steps above."""

    def __init__(self, queryset: QuerySet):
        self.queryset = queryset

    def count(self) -> int:
        return self.queryset.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index: slice) -> list:
        ids = list(self.queryset.values_list("pk", flat=True)[index])
        rows = self.queryset.order_by().in_bulk(ids)
        return [rows[pk] for pk in ids if pk in rows]  # a row that left the list in between is left out
