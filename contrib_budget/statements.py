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

from django.conf import settings
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
    fields = tuple(field for field in meta.local_concrete_fields
                   if not field.generated and (field is not meta.auto_field or instance.pk is not None))
    sql, params = _insert(instance, fields)
    if only_if is None:
        return Statement(sql, params)
    # The compiler writes `INSERT INTO t (columns) VALUES (values)`: the same values selected under a condition.
    parts = _INSERT_VALUES.fullmatch(sql)
    assert parts is not None and "DEFAULT" not in parts["values"], sql
    return Statement(f"{parts['into']} SELECT {parts['values']} WHERE EXISTS ({only_if.sql})",
                     [*params, *only_if.params])


# The INSERT of each model and set of columns, compiled once: a service that holds a hot lock builds its
# statements while it holds it, and compiling cost more than preparing the values.
_INSERT_SQL: dict[tuple[type[models.Model], tuple[models.Field, ...]], str] = {}


def _insert(instance: models.Model, fields: tuple[models.Field, ...]) -> tuple[str, list]:
    """The INSERT of `instance`'s `fields` and its parameters, as Django's compiler writes them. A value that is
    an expression (a column's database default) is compiled into the SQL: such a statement is compiled anew. The
    tests (PREPARED_QUERIES_VERIFY) compile every statement and compare."""
    key = (type(instance), fields)
    sql = _INSERT_SQL.get(key)
    if sql is not None and not getattr(settings, "PREPARED_QUERIES_VERIFY", False):
        values = [field.pre_save(instance, add=True) for field in fields]
        if not _expressions(values):
            return sql, _prepared(fields, values)
    query = InsertQuery(type(instance))
    query.insert_values(list(fields), [instance])
    [(compiled, params)] = query.get_compiler(connection=connection).as_sql()
    values = [getattr(instance, field.attname) for field in fields]  # as the compiler's pre_save left them
    if not _expressions(values):
        assert sql in (None, compiled), f"{sql} compiled again as {compiled}"
        assert [_compared(p) for p in _prepared(fields, values)] == [_compared(p) for p in params], compiled
        _INSERT_SQL[key] = compiled
    return compiled, list(params)


def _expressions(values: list) -> bool:
    return any(hasattr(value, "resolve_expression") for value in values)


def _prepared(fields: tuple[models.Field, ...], values: list) -> list:
    return [field.get_db_prep_save(value, connection) for field, value in zip(fields, values, strict=True)]


def _compared(param: Any) -> Any:
    return getattr(param, "obj", param)  # psycopg's JSON wrappers compare by identity: their value


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
