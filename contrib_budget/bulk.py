"""Writing thousands of rows at once (a closing's payouts, grants and their audit): COPY, without model instances.

`bulk_create` builds a model instance per row and prepares every value in Python, which costs more than the
database's own work by far at these sizes. These rows are plain tuples in the model's field order, streamed
through COPY; the ids a caller needs (to point other rows at these) are reserved from the table's sequence first.
Defaults are not applied: the caller gives every non-null column, as `INSERT` would need.
"""

import json
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any, TypeVar

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models

from .statements import ids_reserve_statement, run_together

T = TypeVar("T")


def in_batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """`items`, at most `size` at a time: a caller writing many rows holds one batch of them, not all."""
    remaining = iter(items)
    while batch := list(islice(remaining, size)):
        yield batch


def _to_json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, cls=DjangoJSONEncoder)


def copy_insert(model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert `rows` (tuples of the `fields`' values) into the model's table by COPY; returns how many."""
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    as_json = [index for index, field in enumerate(columns) if isinstance(field, models.JSONField)]
    statement = "COPY {} ({}) FROM STDIN".format(
        connection.ops.quote_name(meta.db_table),
        ", ".join(connection.ops.quote_name(field.column) for field in columns),
    )
    count = 0
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            if as_json:
                row = list(row)
                for index in as_json:
                    row[index] = _to_json(row[index])
            copy.write_row(row)
            count += 1
    return count


def ids_reserve(model: type[models.Model], count: int) -> list[int]:
    """`count` new ids of the model's table, from its sequence: rows copied with them never collide with others."""
    if count <= 0:
        return []
    [rows] = run_together([ids_reserve_statement(model, count)])
    return [row[0] for row in rows]
