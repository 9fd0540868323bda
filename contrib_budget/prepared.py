"""Querysets compiled once per process, then run with each call's values.

Building and compiling a queryset costs Python more than running a small query costs PostgreSQL: the dashboard's
"what waits for me" spent 66 ms of CPU on twelve statements whose SQL alone takes 3 ms to send and read (README,
"What a request costs"). A `Prepared` query keeps the compiler of its first build (its SQL, its columns, how its
rows become values or model instances) and, from then on, only puts the call's values where the first call's were.

It finds where each value goes by building the queryset again with that value changed and seeing which of the
SQL's parameters change with it. A builder whose SQL is not the same whatever its values (a list whose length
varies, a value that changes the query's shape, a clock read inside the builder) is refused with NotPreparable on
its first call: such a query stays an ordinary queryset. The active collective scope counts as one more value, and
each time zone and language has its own plan, for what the SQL writes of them (a date of a time, in the zone).
"""

import copy
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.models import QuerySet
from django.db.models.sql.compiler import SQLCompiler
from django.utils import timezone, translation

from . import scopes

_SCOPE = "collective scope"

# How each kind of value is changed to find where it goes in the parameters: to a value it cannot be equal to.
_OTHER: dict[type, Callable[[Any], Any]] = {
    int: lambda value: value + 1,
    str: lambda value: value + "\x1f",
    Decimal: lambda value: value + 1,
    datetime: lambda value: value + timedelta(microseconds=1),
    date: lambda value: value + timedelta(days=1),
    list: lambda value: [*value, max(value, default=0) + 1],  # ids, for `__any` (contrib_budget.lookups)
}


class NotPreparable(Exception):
    """A builder whose SQL depends on its values otherwise than through its parameters."""


@dataclass(frozen=True)
class _Plan:
    queryset: QuerySet
    compiler: SQLCompiler  # the first build's, which compiled the SQL: it knows the columns and their conversions
    sql: str
    params: tuple
    slots: tuple[tuple[str, tuple[int, ...]], ...]  # value name -> the parameters' positions it fills


class Prepared:
    """`Prepared(build)`: `build(**values)` returns a queryset; `rows(**values)` its rows (values, tuples or model
    instances, as the queryset gives them), compiled on the first call only.

    Values are keyword arguments of the kinds in `_OTHER` (ids, texts, dates, times, amounts, lists of ids for
    `__any`), never None; the builder must not read anything else that changes (the clock, a setting, the
    database)."""

    def __init__(self, build: Callable[..., QuerySet]):
        self.build = build
        self._plans: dict[Hashable, _Plan] = {}

    def rows(self, **values: Any) -> list:
        scope = scopes.active_scope()
        if isinstance(scope, int):
            values[_SCOPE] = scope
        self._check_kinds(values)
        # A value of another kind may compile to other SQL (a cast), and the SQL a builder gives may also hold the
        # active time zone (a date of a time) or language: each gets its own plan rather than another's.
        key = (scope if not isinstance(scope, int) else _SCOPE,
               tuple(sorted((name, type(value)) for name, value in values.items())),
               timezone.get_current_timezone_name(), translation.get_language())
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = self._prepare(values)
        params = list(plan.params)
        for name, positions in plan.slots:
            for position in positions:
                params[position] = values[name]
        if getattr(settings, "PREPARED_QUERIES_VERIFY", False):
            self._verify(plan, values, params)
        return list(_bound(plan, tuple(params)))

    def _built(self, values: dict[str, Any]) -> QuerySet:
        arguments = {name: value for name, value in values.items() if name != _SCOPE}
        if _SCOPE not in values:
            return self.build(**arguments)
        with scopes.collective_scope(values[_SCOPE]):
            return self.build(**arguments)

    def _compiled(self, values: dict[str, Any]) -> tuple[QuerySet, SQLCompiler, str, tuple]:
        queryset = self._built(values)
        compiler = queryset.query.get_compiler(using=queryset.db)
        sql, params = compiler.as_sql()
        return queryset, compiler, sql, tuple(params)

    def _check_kinds(self, values: dict[str, Any]) -> None:
        for name, value in values.items():
            if type(value) not in _OTHER or type(value) is list and any(type(item) is not int for item in value):
                raise NotPreparable(f"{self.build.__qualname__}: {name} is a {type(value).__name__}, "
                                    f"not one of {', '.join(kind.__name__ for kind in _OTHER)} (of ids)")

    def _prepare(self, values: dict[str, Any]) -> _Plan:
        queryset, compiler, sql, params = self._compiled(values)
        slots, filled = [], set()
        for name, value in values.items():
            other = _OTHER[type(value)](value)
            *_built, other_sql, other_params = self._compiled({**values, name: other})
            if other_sql != sql or len(other_params) != len(params):
                raise NotPreparable(f"{self.build.__qualname__}: its SQL changes with {name}")
            positions = tuple(i for i, (one, two) in enumerate(zip(params, other_params, strict=True)) if one != two)
            if filled & set(positions) or any(params[i] != value or other_params[i] != other for i in positions):
                raise NotPreparable(f"{self.build.__qualname__}: {name} is not a parameter of its own, as given")
            filled.update(positions)
            slots.append((name, positions))
        return _Plan(queryset=queryset, compiler=compiler, sql=sql, params=params, slots=tuple(slots))

    def _verify(self, plan: _Plan, values: dict[str, Any], params: list) -> None:
        """Tests compile every call again: the prepared SQL must be the one the builder gives these values."""
        *_built, sql, fresh = self._compiled(values)
        if sql != plan.sql or list(fresh) != params:
            raise NotPreparable(f"{self.build.__qualname__}: prepared {plan.sql} {params}, built {sql} {fresh}")


def _bound(plan: _Plan, params: tuple) -> QuerySet:
    """A copy of the plan's queryset whose compiler is the first one's with these parameters, on this thread's
    connection (a compiler holds the connection of the thread that made it)."""
    queryset = plan.queryset._clone()  # not copy.copy: a queryset's pickling state runs its query
    compiler = copy.copy(plan.compiler)
    compiler.connection = connections[plan.queryset.db]
    compiler.as_sql = lambda *args, **kwargs: (plan.sql, params)
    queryset.query.get_compiler = lambda *args, **kwargs: compiler
    return queryset
