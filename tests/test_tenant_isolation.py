"""Every route under a collective, walked as an outsider, answers 404.

The routes are enumerated from the URL configuration, so routes that apps add
later are covered without editing this file. URL kwargs other than the
collective's slug are filled with ids of real objects of the collective under
attack, found from the model they name (DRF viewset `pk`, `<model>_id` /
`<model>_pk` names); words that name no object (a bucket's action) come from
ROUTE_WORDS. The walk asserts that every route got real objects, so a new route
whose ids it cannot fill fails here instead of being walked with made-up ids.
"""

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.test import Client
from django.urls import URLResolver, get_resolver, resolve
from django.urls.converters import UUIDConverter
from django.utils import timezone
from django.utils.regex_helper import normalize
from rest_framework.test import APIClient

from accounting.models import Export, FundingImport, IssuedDocument
from budgets.ledger import account_get_or_create, transfer
from budgets.models import AccountKind
from contrib_budget.tenancy import URL_KWARG
from members import services
from members.models import Collective, Invitation, Membership, Role
from tests.factories import CollectiveFactory, MembershipFactory, UserFactory

API_METHODS = ("get", "post", "put", "patch", "delete")
# URL words that name no object: a real value for each.
ROUTE_WORDS = {"name": "approve"}
PAGE_METHODS = ("get", "post")


@dataclass
class Route:
    regex: str
    callback: object
    converters: dict = field(default_factory=dict)

    @property
    def is_api(self) -> bool:
        return self.regex.startswith("api/")

    @property
    def kwargs(self) -> list[str]:
        return normalize(self.regex)[0][1]

    def url(self, values: dict) -> str:
        template, params = normalize(self.regex)[0]
        return "/" + template % {name: values[name] for name in params}


def _walk(patterns, prefix: str = "", converters: dict | None = None):
    for pattern in patterns:
        regex = prefix + pattern.pattern.regex.pattern.lstrip("^")
        found = {**(converters or {}), **getattr(pattern.pattern, "converters", {})}
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, regex, found)
        else:
            yield Route(regex=regex, callback=pattern.callback, converters=found)


def collective_routes() -> list[Route]:
    return [route for route in _walk(get_resolver().url_patterns) if URL_KWARG in route.kwargs]


def _collective_models():
    return [model for model in apps.get_models() if any(f.name == "collective" for f in model._meta.fields)]


def _model_for(route: Route, kwarg: str):
    view = getattr(route.callback, "cls", None) or getattr(route.callback, "view_class", None)
    if view is not None and kwarg in {getattr(view, "lookup_url_kwarg", None), getattr(view, "lookup_field", None),
                                      "pk", "slug"}:
        queryset = getattr(view, "queryset", None)
        if queryset is not None:
            return queryset.model
        serializer = getattr(view, "serializer_class", None)
        if serializer is not None and hasattr(getattr(serializer, "Meta", None), "model"):
            return serializer.Meta.model
        if getattr(view, "model", None) is not None:
            return view.model
    name = kwarg.removesuffix("_id").removesuffix("_pk").replace("_", "")
    return next((m for m in _collective_models() if m._meta.model_name == name), None)


def _fill(route: Route, slug: str, victim: Collective) -> tuple[dict, bool]:
    """URL kwargs naming objects of `victim`; the flag says whether every id is a real object of it."""
    values, all_real = {URL_KWARG: slug}, True
    for kwarg in route.kwargs:
        if kwarg == URL_KWARG:
            continue
        if kwarg in ROUTE_WORDS:
            values[kwarg] = ROUTE_WORDS[kwarg]
            continue
        model = _model_for(route, kwarg)
        pk = None
        if model is not None and any(f.name == "collective" for f in model._meta.fields):
            pk = model._default_manager.filter(collective=victim).order_by("pk").values_list("pk", flat=True).first()
        if pk is None:
            all_real = False
            converter = route.converters.get(kwarg)
            pk = uuid.uuid4() if isinstance(converter, UUIDConverter) else 1
        values[kwarg] = pk
    return values, all_real


@pytest.fixture
def victim(db):
    """The demo's collective, with every app's demo data, plus a pending invitation and some money."""
    call_command("seed_demo", stdout=StringIO())
    collective = Collective.objects.get(slug="la-fabrique")
    coordinator = Membership.objects.of(collective).filter(roles__contains=[Role.COORDINATOR.value]).first().user
    Invitation.objects.create(collective=collective, email="newcomer@example.org", roles=[Role.MEMBER.value],
                              invited_by=coordinator)
    source = account_get_or_create(collective=collective, kind=AccountKind.FUNDING_SOURCE, code="t-grant",
                                   name="Grant")
    wallet = account_get_or_create(collective=collective, kind=AccountKind.WALLET, code="t-wallet", name="Wallet")
    transfer(collective=collective, source=source, destination=wallet, amount=Decimal("1.00"), kind="funding")
    Export.objects.create(collective=collective, requested_by=coordinator, kind="journal", format="csv",
                          expires_at=timezone.now() + timedelta(days=1))
    IssuedDocument.objects.create(collective=collective, kind="period_statement", subject="period:1", data={},
                                  locale="fr", issued_by=coordinator)
    FundingImport.objects.create(collective=collective, format="bank", uploaded_by=coordinator)
    return collective


@pytest.fixture
def mallory(db):
    """Holds every role, in her own collective only."""
    own = CollectiveFactory(name="Mallory's", slug="mallorys")
    return MembershipFactory(collective=own, user=UserFactory(email="mallory@example.org"),
                             roles=list(Role.values)).user


def _clients(user):
    page = Client()
    page.force_login(user)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {services.token_create(user=user, name='test')[1]}")
    return page, api


def _request(route: Route, clients, method: str, url: str):
    page, api = clients
    if route.is_api:
        return getattr(api, method)(url, {}, format="json")
    return getattr(page, method)(url)


def test_the_walk_covers_the_collective_routes_of_every_app():
    regexes = {route.regex for route in collective_routes()}
    assert any(r.startswith("api/v1/collectives/") and "members/$" in r for r in regexes)
    assert any(r.startswith("api/v1/collectives/") and "(?P<pk>" in r and "members/" in r for r in regexes)
    assert any(r.startswith("c/") and "members/" in r for r in regexes)
    assert "api/v1/collectives/(?P<collective_slug>[-a-zA-Z0-9_]+)/" in {r.removesuffix("\\Z") for r in regexes}


def test_an_outsider_gets_404_on_every_page_and_endpoint_of_a_collective(victim, mallory):
    clients = _clients(mallory)
    routes = collective_routes()
    checked, leaks, made_up = 0, [], []
    for route in routes:
        values, all_real = _fill(route, victim.slug, victim)
        if not all_real:
            made_up.append(route.regex)
        url = route.url(values)
        assert resolve(url).func == route.callback, url
        for method in API_METHODS if route.is_api else PAGE_METHODS:
            status = _request(route, clients, method, url).status_code
            checked += 1
            if status != 404:
                leaks.append(f"{method.upper()} {url} -> {status}")
    assert leaks == []
    assert made_up == [], "every route must be walked with the victim's real objects"
    assert checked == sum(len(API_METHODS if route.is_api else PAGE_METHODS) for route in routes) > 200


def test_object_ids_of_another_collective_give_404_inside_my_own(victim, mallory):
    """Mallory, with every role in her own collective, names the victim's objects in her URLs."""
    clients = _clients(mallory)
    own_slug = mallory.memberships.get().collective.slug
    routes_with_ids = [route for route in collective_routes() if set(route.kwargs) - {URL_KWARG, *ROUTE_WORDS}]
    tried, wrong = 0, []
    for route in routes_with_ids:
        values, all_real = _fill(route, own_slug, victim)
        assert all_real, route.regex
        url = route.url(values)
        methods = [m for m in route.callback.actions] if route.is_api else list(PAGE_METHODS)
        statuses = {method: _request(route, clients, method, url).status_code for method in methods}
        tried += 1
        if not set(statuses.values()) <= {404, 405} or 404 not in statuses.values():
            wrong.append(f"{url} -> {statuses}")
    assert wrong == []
    assert tried == len(routes_with_ids) > 50


def test_a_non_member_cannot_see_a_collective_in_the_list(victim, mallory):
    _page, api = _clients(mallory)
    slugs = [c["slug"] for c in api.get("/api/v1/collectives/").json()["results"]]
    assert slugs == ["mallorys"]


class TestRoles:
    """A plain member lacking the coordinator role gets 403 and nothing changes."""

    def test_a_plain_member_cannot_add_a_member(self, api, collective, member):
        response = api(member).post(f"/api/v1/collectives/{collective.slug}/members/",
                                    {"email": "someone@example.org", "roles": ["member"]}, format="json")
        assert response.status_code == 403
        assert set(response.json()) == {"detail", "code", "fields"}
        assert not Invitation.objects.filter(email="someone@example.org").exists()

    def test_a_plain_member_cannot_change_roles(self, api, collective, member, coordinator):
        target = Membership.objects.get(collective=collective, user=member)
        response = api(member).patch(f"/api/v1/collectives/{collective.slug}/members/{target.pk}/",
                                     {"roles": ["coordinator"]}, format="json")
        assert response.status_code == 403
        target.refresh_from_db()
        assert Role.COORDINATOR.value not in target.roles

    def test_a_plain_member_cannot_edit_the_collective(self, api, collective, member):
        response = api(member).patch(f"/api/v1/collectives/{collective.slug}/", {"name": "Taken over"},
                                     format="json")
        assert response.status_code == 403
        collective.refresh_from_db()
        assert collective.name == "La Fabrique"

    def test_a_plain_member_cannot_remove_someone_else(self, api, collective, member, coordinator):
        target = Membership.objects.get(collective=collective, user=coordinator)
        response = api(member).delete(f"/api/v1/collectives/{collective.slug}/members/{target.pk}/")
        assert response.status_code == 403
        assert Membership.objects.filter(pk=target.pk).exists()

    def test_an_accountant_is_not_a_coordinator_either(self, api, collective, accountant):
        response = api(accountant).post(f"/api/v1/collectives/{collective.slug}/members/",
                                        {"email": "x@example.org", "roles": ["member"]}, format="json")
        assert response.status_code == 403
