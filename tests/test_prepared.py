"""Prepared queries (contrib_budget.prepared): compiled once, run with each call's values, in each call's scope."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Count, Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from budgets.models import Budget, PeriodKind
from contrib_budget import scopes
from contrib_budget.prepared import NotPreparable, Prepared
from members.models import Membership, Role

from .conftest import MONDAY
from .factories import CollectiveFactory, MembershipFactory, UserFactory
from .threads import run_concurrently


class Counted:
    """A builder that counts how often it is asked to build."""

    def __init__(self, build):
        self.build, self.calls = build, 0
        self.__qualname__ = build.__qualname__

    def __call__(self, **values):
        self.calls += 1
        return self.build(**values)


def _budget(collective, name: str, amount: str) -> Budget:
    return Budget.objects.create(collective=collective, name=name, period_kind=PeriodKind.WEEK, starts_on=MONDAY,
                                 amount_per_period=Decimal(amount))


@pytest.fixture
def two_people(db):
    alice, bob = UserFactory(name="Alice"), UserFactory(name="Bob")
    one, two, three = (CollectiveFactory(name=name) for name in ("One", "Two", "Three"))
    MembershipFactory(user=alice, collective=one, roles=[Role.COORDINATOR.value])
    MembershipFactory(user=alice, collective=two, roles=[Role.MEMBER.value])
    MembershipFactory(user=bob, collective=three, roles=[Role.COORDINATOR.value])
    return alice, bob


def test_each_call_reads_its_own_values_and_compiles_nothing_again(two_people, settings):
    settings.PREPARED_QUERIES_VERIFY = False
    alice, bob = two_people
    build = Counted(lambda user_id, role: Membership.objects.filter(user_id=user_id, roles__contains=[role])
                    .select_related("collective").order_by("collective__name"))
    memberships = Prepared(build)

    first = memberships.rows(user_id=alice.pk, role=Role.COORDINATOR.value)
    builds = build.calls
    assert [m.collective.name for m in first] == ["One"]
    with CaptureQueriesContext(connection) as queries:
        assert [m.collective.name for m in memberships.rows(user_id=bob.pk, role=Role.COORDINATOR.value)] == ["Three"]
        assert [m.collective.name for m in memberships.rows(user_id=alice.pk, role=Role.MEMBER.value)] == ["Two"]
    assert build.calls == builds == 3  # the first call's, then one more for each value to find where it goes
    assert len(queries) == 2  # the related collective came with each row


def test_values_and_aggregates_come_back_as_the_queryset_gives_them(collective, settings):
    settings.PREPARED_QUERIES_VERIFY = False
    _budget(collective, "Small", "10.50")
    _budget(collective, "Large", "1000.25")
    totals = Prepared(lambda at_least: Budget.objects.filter(amount_per_period__gte=at_least)
                      .values("collective_id").annotate(count=Count("id"), total=Sum("amount_per_period")))

    assert totals.rows(at_least=Decimal("0")) == [{"collective_id": collective.pk, "count": 2,
                                                  "total": Decimal("1010.75")}]
    assert totals.rows(at_least=Decimal("100")) == [{"collective_id": collective.pk, "count": 1,
                                                    "total": Decimal("1000.25")}]
    assert totals.rows(at_least=Decimal("5000")) == []


def test_a_collective_scope_is_one_of_the_values(db, settings):
    """Prepared in one collective's scope, the query reads only the scope's rows in every other."""
    settings.PREPARED_QUERIES_VERIFY = False
    one, two = CollectiveFactory(), CollectiveFactory()
    _budget(one, "Of one", "10")
    _budget(two, "Of two", "10")
    names = Prepared(lambda at_least: Budget.objects.filter(amount_per_period__gte=at_least).values_list("name",
                                                                                                          flat=True))
    with scopes.collective_scope(one.pk):
        assert names.rows(at_least=Decimal("1")) == ["Of one"]
    with scopes.collective_scope(two.pk):
        assert names.rows(at_least=Decimal("1")) == ["Of two"]
    with scopes.every_collective():
        assert sorted(names.rows(at_least=Decimal("1"))) == ["Of one", "Of two"]
    with scopes.collective_scope(two.pk + 1000):
        assert names.rows(at_least=Decimal("1")) == []


def test_times_and_dates_are_values(collective, settings):
    settings.PREPARED_QUERIES_VERIFY = False
    _budget(collective, "Weekly", "10")
    created = Prepared(lambda after, starts_from: Budget.objects.filter(created_at__gt=after,
                                                                        starts_on__gte=starts_from)
                       .values_list("name", flat=True))
    now = timezone.now()
    assert created.rows(after=now - timedelta(hours=1), starts_from=MONDAY) == ["Weekly"]
    assert created.rows(after=now + timedelta(hours=1), starts_from=MONDAY) == []
    assert created.rows(after=now - timedelta(hours=1), starts_from=MONDAY + timedelta(days=1)) == []


@pytest.mark.parametrize("build, values, refused", [
    (lambda count: Budget.objects.filter(pk__in=list(range(count))), {"count": 3}, "its SQL changes with count"),
    (lambda name: Budget.objects.filter(name__contains=name), {"name": "Tiers"}, "name is not a parameter"),
    (lambda name: Budget.objects.filter(name=name, created_at__lte=timezone.now()), {"name": "Tiers"},
     "name is not a parameter"),
    (lambda name: Budget.objects.filter(name=name), {"name": None}, "name is a NoneType"),
    (lambda active: Budget.objects.filter(pk__gt=0) if active else Budget.objects.all(), {"active": True},
     "active is a bool"),
])
def test_a_query_whose_shape_depends_on_its_values_is_refused(db, build, values, refused):
    with scopes.every_collective(), pytest.raises(NotPreparable, match=refused):
        Prepared(build).rows(**values)


def test_the_tests_compile_every_call_again_and_compare(collective, settings):
    """The check the tests run on every call: a builder that reads something else than its values is caught."""
    settings.PREPARED_QUERIES_VERIFY = True
    _budget(collective, "Weekly", "10")
    minimum = {"amount": Decimal("1")}
    above = Prepared(lambda name: Budget.objects.filter(name=name, amount_per_period__gte=minimum["amount"]))
    assert len(above.rows(name="Weekly")) == 1
    minimum["amount"] = Decimal("100")
    with pytest.raises(NotPreparable, match="prepared"):
        above.rows(name="Weekly")


@pytest.mark.django_db(transaction=True)
def test_threads_run_it_on_their_own_connections(settings):
    settings.PREPARED_QUERIES_VERIFY = False
    people = [UserFactory(name=f"Person {i}") for i in range(4)]
    for person in people:
        MembershipFactory(user=person, collective=CollectiveFactory(name=f"Of {person.name}"))
    collectives = Prepared(lambda user_id: Membership.objects.filter(user_id=user_id)
                           .values_list("collective__name", flat=True))
    collectives.rows(user_id=people[0].pk)

    def read(index: int):
        return people[index].name, collectives.rows(user_id=people[index].pk)

    results, errors = run_concurrently(read, len(people))
    assert errors == []
    assert sorted(results) == [(person.name, [f"Of {person.name}"]) for person in people]


def test_each_time_zone_has_its_own_plan(collective, settings):
    """A day of a time is written in the active time zone: the SQL of one zone is never run for another."""
    settings.PREPARED_QUERIES_VERIFY = False
    _budget(collective, "Weekly", "10")
    created_at = Budget.objects.get().created_at
    late_evening = created_at.replace(hour=23, minute=30)
    Budget.objects.update(created_at=late_evening)
    made_on = Prepared(lambda name: Budget.objects.filter(name=name).values_list("created_at__date", flat=True))
    with timezone.override("UTC"):
        assert made_on.rows(name="Weekly") == [late_evening.astimezone(timezone.get_current_timezone()).date()]
    with timezone.override("Asia/Tokyo"):
        assert made_on.rows(name="Weekly") == [late_evening.astimezone(timezone.get_current_timezone()).date()]


def test_a_list_of_ids_is_one_value_whatever_its_length(collective, settings):
    """`__any` (contrib_budget.lookups) writes one array parameter where `__in` writes one an item."""
    settings.PREPARED_QUERIES_VERIFY = False
    ids = [_budget(collective, name, "10").pk for name in ("A", "B", "C")]
    build = Counted(lambda ids: Budget.objects.filter(pk__any=ids).order_by("name").values_list("name", flat=True))
    named = Prepared(build)
    assert named.rows(ids=ids[:1]) == ["A"]
    builds = build.calls
    assert named.rows(ids=ids) == ["A", "B", "C"]
    assert named.rows(ids=[ids[2], ids[0]]) == ["A", "C"]
    assert named.rows(ids=[]) == []
    assert build.calls == builds
    with pytest.raises(NotPreparable, match="of ids"):
        Prepared(lambda names: Budget.objects.filter(name__any=names)).rows(names=["A"])


def test_a_foreign_key_takes_a_list_of_ids(collective, settings):
    settings.PREPARED_QUERIES_VERIFY = False
    _budget(collective, "A", "10")
    of = Prepared(lambda ids: Budget.objects.filter(collective_id__any=ids).values_list("name", flat=True))
    assert of.rows(ids=[collective.pk]) == ["A"]
    assert of.rows(ids=[collective.pk + 1]) == []


def test_every_call_checks_the_kinds_of_its_values(collective, settings):
    """A plan is made for its values' kinds: a later call with another kind gets its own plan or is refused."""
    settings.PREPARED_QUERIES_VERIFY = False
    budget = _budget(collective, "A", "10")
    named = Prepared(lambda ids: Budget.objects.filter(pk__any=ids).values_list("name", flat=True))
    assert named.rows(ids=[budget.pk]) == ["A"]
    with pytest.raises(NotPreparable, match="of ids"):
        named.rows(ids=["A"])
    by_amount = Prepared(lambda amount: Budget.objects.filter(amount_per_period=amount).values_list("name", flat=True))
    assert by_amount.rows(amount=10) == ["A"]
    assert by_amount.rows(amount=Decimal("10.00")) == ["A"]
    assert len(by_amount._plans) == 2
