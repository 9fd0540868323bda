"""Tenancy fails closed: collective data is read inside a collective's scope, or the query raises."""

from contextlib import contextmanager

import pytest
from celery import shared_task
from django.http import HttpResponse
from django.test import RequestFactory
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from budgets.models import Budget, Period
from contrib_budget import scopes
from contrib_budget.api import CollectiveScopedMixin
from contrib_budget.tenancy import CollectiveMiddleware
from tests.factories import CollectiveFactory

pytestmark = pytest.mark.django_db


@contextmanager
def no_scope():
    token = scopes.enter(None)
    try:
        yield
    finally:
        scopes.leave(token)


@pytest.fixture
def two_budgets(collective, outsider):
    elsewhere = outsider.memberships.get().collective
    theirs = Budget.objects.create(collective=elsewhere, name="Ailleurs", starts_on="2025-01-01")
    Period.objects.create(collective=elsewhere, budget=theirs, index=0, starts_on="2025-01-01", ends_on="2025-01-31")
    return Budget.objects.create(collective=collective, name="Ici", starts_on="2025-01-01"), theirs


def test_a_query_outside_any_scope_raises(two_budgets):
    with no_scope():
        with pytest.raises(scopes.OutOfScope, match="budgets.Budget was queried outside a collective scope"):
            Budget.objects.filter(name="Ici")
        with pytest.raises(scopes.OutOfScope):
            Budget.objects.of(two_budgets[0].collective)
        # Naming a model with an empty queryset reads nothing, so it needs no scope (views and forms do it).
        assert list(Budget.objects.none()) == []


def test_a_collective_scope_sees_only_its_collective_whatever_the_filters_say(two_budgets):
    mine, theirs = two_budgets
    with no_scope(), scopes.collective_scope(mine.collective_id):
        assert list(Budget.objects.all()) == [mine]
        assert not Budget.objects.filter(collective=theirs.collective).exists()
        assert not Budget.objects.filter(pk=theirs.pk).exists()
        # Related managers start from the same manager.
        assert not theirs.periods.exists()
    with scopes.every_collective():
        assert theirs.periods.exists()
        assert set(Budget.objects.all()) == {mine, theirs}


def test_of_names_the_collective_once_and_finds_nothing_of_another(two_budgets):
    mine, theirs = two_budgets
    with no_scope(), scopes.collective_scope(mine.collective_id):
        sql = str(Budget.objects.of(mine.collective).query)
        assert sql.count('"collective_id" =') == 1
        assert list(Budget.objects.of(mine.collective)) == [mine]
        assert list(Budget.objects.of(mine.collective_id)) == [mine]
        assert not Budget.objects.of(theirs.collective).exists()
        # A queryset filtered already is filtered again: `of` on it says which collective, whatever came before.
        assert not Budget.objects.all().of(theirs.collective).exists()
    with scopes.every_collective():
        assert list(Budget.objects.of(theirs.collective)) == [theirs]
        assert list(Budget.objects.all().of(mine.collective)) == [mine]


def _scope_seen_by(view_kwargs: dict, user) -> list:
    seen = []

    def view(_request):
        seen.append(scopes.active_scope())
        return HttpResponse()

    def get_response(request):
        return middleware.process_view(request, view, (), view_kwargs) or view(request)

    middleware = CollectiveMiddleware(get_response)
    request = RequestFactory().get("/c/x/")
    request.user = user
    middleware(request)
    return seen


def test_a_page_runs_in_its_collective_scope_and_any_other_page_in_none(collective, coordinator):
    assert _scope_seen_by({"collective_slug": collective.slug}, coordinator) == [collective.pk]
    assert _scope_seen_by({}, coordinator) == [None]
    assert scopes.active_scope() == scopes.EVERY  # the request's scope ended with it


class _Probe(CollectiveScopedMixin, APIView):
    def get(self, request, *args, **kwargs):
        return Response({"scope": scopes.active_scope()})


def test_an_endpoint_of_a_collective_runs_in_its_scope(collective, coordinator):
    request = APIRequestFactory().get("/probe/")
    force_authenticate(request, user=coordinator)
    with no_scope():
        response = _Probe.as_view()(request, collective_slug=collective.slug)
        assert scopes.active_scope() is None
    assert response.data == {"scope": collective.pk}


@shared_task
def _scope_of_a_task() -> str | int | None:
    return scopes.active_scope()


def test_a_task_works_for_the_system_across_collectives(collective):
    with no_scope(), scopes.collective_scope(CollectiveFactory().pk):
        assert _scope_of_a_task.delay().get() == scopes.EVERY
        assert scopes.active_scope() != scopes.EVERY
