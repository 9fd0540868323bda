"""Several statements in one round trip to the database, for a service that holds a hot lock.

Every statement a service sends while it holds a row lock (a bucket that twenty people fund at once) keeps the lock
one round trip longer, and in a threaded server a round trip is also a wait for Python's interpreter lock before
the next statement can go. So a service sends what it must do under the lock together: its statements joined in
one query string, the parameters bound on the client (Django's default psycopg cursor), run in order.

Each statement still reads from its own snapshot, taken when it starts (READ COMMITTED): a read sent after a
locking statement sees every commit made while the lock was awaited. The first statement that fails stops the
rest, and the error aborts the transaction as any failing statement would.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, models
from django.db.models.sql import InsertQuery


@dataclass(frozen=True)
class Statement:
    sql: str
    params: Sequence[Any] = ()


def insert_statement(instance: models.Model) -> Statement:
    """The INSERT that `instance.save()` would send for a new row, its defaults applied. The statement returns
    nothing: a caller that needs the row's id reserves it first (`ids_reserve_statement`) and sets it. Once the
    statement has run, `inserted` marks the instance as saved."""
    meta = instance._meta
    fields = [field for field in meta.local_concrete_fields
              if not field.generated and (field is not meta.auto_field or instance.pk is not None)]
    query = InsertQuery(instance.__class__)
    query.insert_values(fields, [instance])
    [(sql, params)] = query.get_compiler(connection=connection).as_sql()
    return Statement(sql, params)


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


def run_together(statements: Sequence[Statement]) -> list[list[tuple]]:
    """Run `statements` in order, in one round trip; return the rows of each (empty for those returning none)."""
    with connection.cursor() as cursor:
        cursor.execute("; ".join(statement.sql for statement in statements),
                       [param for statement in statements for param in statement.params])
        results = []
        while True:
            results.append(cursor.fetchall() if cursor.description is not None else [])
            if not cursor.cursor.nextset():
                return results
