"""Several statements in one round trip to the database, for a service that holds a hot lock.

Every statement a service sends while it holds a row lock (a bucket that twenty people fund at once) keeps the lock
one round trip longer, and in a threaded server a round trip is also a wait for Python's interpreter lock before
the next statement can go. So a service sends what it must do under the lock together: its statements joined in
one query string, the parameters bound on the client (Django's default psycopg cursor), run in order.

Each statement still reads from its own snapshot, taken when it starts (READ COMMITTED): a read sent after a
locking statement sees every commit made while the lock was awaited. The first statement that fails stops the
rest, and the error aborts the transaction as any failing statement would.

The last trip under the lock can also end the transaction (`commit=True`): the lock is then released as soon as the
database has written the rows, not after Python has read the answer and sent COMMIT in another trip.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, models
from django.db.models.sql import InsertQuery


@dataclass(frozen=True)
class Statement:
    sql: str
    params: Sequence[Any] = ()


def insert_statement(instance: models.Model, *, only_if: Statement | None = None) -> Statement:
    """The INSERT that `instance.save()` would send for a new row, its defaults applied. The statement returns
    nothing: a caller that needs the row's id reserves it first (`ids_reserve_statement`) and sets it. Once the
    statement has run, `inserted` marks the instance as saved.

    With `only_if` (a query), the row is inserted only when that query finds a row, as the statement runs: an
    insert sent after another statement of the same trip can depend on what that one wrote. The instance must then
    hold every value (a value left to the column's database default compiles to DEFAULT, which cannot be selected)."""
    meta = instance._meta
    fields = [field for field in meta.local_concrete_fields
              if not field.generated and (field is not meta.auto_field or instance.pk is not None)]
    query = InsertQuery(instance.__class__)
    query.insert_values(fields, [instance])
    [(sql, params)] = query.get_compiler(connection=connection).as_sql()
    if only_if is None:
        return Statement(sql, params)
    # The compiler writes `INSERT INTO t (columns) VALUES (values)`: the same values selected under a condition.
    parts = _INSERT_VALUES.fullmatch(sql)
    assert parts is not None and "DEFAULT" not in parts["values"], sql
    return Statement(f"{parts['into']} SELECT {parts['values']} WHERE EXISTS ({only_if.sql})",
                     [*params, *only_if.params])


_INSERT_VALUES = re.compile(r"(?P<into>INSERT INTO .+?\)) VALUES \((?P<values>.*)\)", re.DOTALL)


def inserted(instance: models.Model) -> None:
    """Mark `instance` as a saved row, once the statement that inserted it has run."""
    instance._state.adding, instance._state.db = False, connection.alias


def ids_reserve_statement(model: type[models.Model], count: int) -> Statement:
    """The statement whose rows are `count` new ids of the model's table, from its sequence: rows inserted with
    them never collide with others."""
    meta = model._meta
    assert meta.pk is not None
    return Statement("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                     [meta.db_table, meta.pk.column, count])


def run_together(statements: Sequence[Statement], *, commit: bool = False) -> list[list[tuple]]:
    """Run `statements` in order, in one round trip; return the rows of each (empty for those returning none).

    With `commit`, the same trip commits the transaction when it is the outermost atomic block's (otherwise the
    block commits it when it ends, as usual). Nothing after these statements may then fail or write: the block's
    own commit, at its end, finds nothing left to commit (psycopg sends no COMMIT outside a transaction), and its
    rollback would find nothing to undo."""
    sql = "; ".join(statement.sql for statement in statements)
    if commit and _outermost_block_is_open():
        sql += "; COMMIT"
    with connection.cursor() as cursor:
        cursor.execute(sql, [param for statement in statements for param in statement.params])
        results = []
        while True:
            results.append(cursor.fetchall() if cursor.description is not None else [])
            if not cursor.cursor.nextset():
                return results[:len(statements)]


def _outermost_block_is_open() -> bool:
    """Inside exactly one atomic block, with no savepoint and nothing marked for rollback: its commit is the
    transaction's. Inside a caller's block (a test's, a batch's), committing here would commit the caller's work."""
    return (connection.in_atomic_block and len(connection.atomic_blocks) == 1 and not connection.savepoint_ids
            and not connection.needs_rollback)
