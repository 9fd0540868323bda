"""Every page and endpoint costs the same at any size: the same number of queries, and no more bytes once the
rows fill a page.

Three collectives are built alike (tests/bounded_data.py) with 3, 60 and 180 rows of everything: more than the
largest page, 50 rows (the DRF PAGE_SIZE and the pages' Paginators). Every GET route of the URL configuration is
walked in each, as its coordinator (as its accountant for the accounting area), with the ids of the objects that
own that many rows (the first budget and its closed period, the first round and its first bucket, a declaration
with that many comments...). A route fails when its query count grows with the rows (a query per row), when
its response keeps growing past a page (a list that is neither paginated nor summarised), or when it reads more
rows from the database past a page (a page that shows 50 but reads them all, which costs time the counts and
the bytes do not show). Only the downloads meant to hold every row, and routes outside the application's pages,
are left out, each with its reason.
"""

import re
from collections import Counter
from dataclasses import dataclass, field

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import get_resolver
from django.utils.regex_helper import normalize

from accounting.models import Export, FundingImport, IssuedDocument
from budgets.models import Envelope, Funding, Payout, PayoutBatch, Task
from cobudget.models import BucketFlag, Round, RoundTemplate
from contrib_budget.tenancy import URL_KWARG
from members.models import Invitation, Membership, PersonalToken
from members.notifications.models import Notification
from tests.bounded_data import Bounded, bounded_collective
from tests.test_tenant_isolation import ROUTE_WORDS, Route, _model_for, _walk

SIZES = {"small": 3, "large": 60, "larger": 180}
# Once a page is full, more rows may only change a few figures (totals get more digits): 5 % and 2 KB of slack.
SIZE_SLACK_RATIO, SIZE_SLACK_BYTES = 1.05, 2048

EXCLUDED = {
    # Downloads that are meant to contain every row.
    "/c/<collective_slug>/audit/csv/": "CSV of the whole audit trail",
    "/c/<collective_slug>/accounting/exports/<export_id>/download/": "an export file, every row of the books",
    "/api/v1/collectives/<collective_slug>/exports/<pk>/download/": "an export file, every row of the books",
    "/api/v1/collectives/<collective_slug>/periods/<period_id>/statement.pdf": "PDF statement of every payout",
    "/api/v1/collectives/<collective_slug>/members/<membership_id>/statement.pdf": "PDF of a person's every grant",
    "/api/v1/collectives/<collective_slug>/rounds/<round_id>/results.pdf": "PDF results of every bucket",
    "/api/v1/collectives/<collective_slug>/documents/<issued_document_id>.pdf": "PDF rebuilt from frozen data",
    "/c/<collective_slug>/contributions/<contribution_id>/attachment/": "serves one uploaded file",
    "/c/<collective_slug>/payouts/batches/<payout_batch_id>/download/": "a batch's file, a line per payout",
    "/api/v1/collectives/<collective_slug>/payouts/batches/<payout_batch_id>/download/": "a batch's file",
    "/api/v1/collectives/<collective_slug>/payouts/batches/<payout_batch_id>/":
        "names the batch's payouts and those left out: at most 1,000, the limit of a batch",
}
# Routes outside the application's own pages, or naming a secret rather than an object.
EXCLUDED_PREFIXES = {
    "/admin/": "Django's admin",
    "/accounts/": "allauth's login and account pages",
    "/i18n/": "the language switch",
    "/api/v1/schema/": "the API description, the same at every size",
    "/api/v1/docs/": "the API description, the same at every size",
    "/api/v1/auth/token/": "POST only: signs in",
    "/invitations/<token>/": "names an invitation by its secret token",
    "/notifications/settings/<token>/": "names a person by a signed token",
}


# A collective's budgets and rounds, and what hangs on a budget (its rate levels, envelopes and tasks), are its
# setup: a few dozen over the years, chosen from a list where work is declared, filtered, exported or handed over.
# The walk seeds as many of them as of everything else, so on these pages the options of those selects (and only
# them) are left out of the bytes compared; the rest of each page must stay bounded. People, who may be
# thousands, are never listed: they are typed and searched.
SETUP_SELECTS = {
    "/c/<collective_slug>/contributions/": {"budget"},
    "/c/<collective_slug>/contributions/new/": {"budget", "work", "rate_level"},
    "/c/<collective_slug>/accounting/": {"budget", "round"},
    "/c/<collective_slug>/accounting/statements/person/": {"budget", "round"},
    "/c/<collective_slug>/cobudget/buckets/<bucket_id>/envelope/": {"budget"},
}


# Where SETUP_SELECTS lists a collective's setup whole, the rows read from its tables are left out of the rows
# compared; every other row a route reads must stay within a page.
SETUP_TABLES = {"budgets_budget", "budgets_ratelevel", "budgets_envelope", "budgets_task", "cobudget_round"}


def _beyond_setup(route_id: str, rows: Counter) -> Counter:
    if route_id not in SETUP_SELECTS:
        return rows
    return Counter({sql: count for sql, count in rows.items() if _first_table(sql) not in SETUP_TABLES})


def _first_table(sql: str) -> str:
    found = re.search(r'FROM "(\w+)"', sql)
    return found.group(1) if found else ""


def _without_setup_options(route_id: str, body: bytes) -> bytes:
    for name in SETUP_SELECTS.get(route_id, ()):
        body = re.sub(rb'(<select[^>]*\bname="' + name.encode() + rb'"[^>]*>).*?(</select>)', rb"\1\2", body,
                      flags=re.DOTALL)
    return body


def _route_id(regex: str) -> str:
    template, params = normalize(regex)[0]
    return "/" + template % {name: f"<{name}>" for name in params}


def _answers_get(route: Route) -> bool:
    """False for API routes known to be POST only; pages say so when asked (405)."""
    actions = getattr(route.callback, "actions", None)
    if actions is not None:
        return "get" in actions
    view = getattr(route.callback, "cls", None)
    return view is None or hasattr(view, "get")


def _excluded(route_id: str) -> bool:
    return route_id in EXCLUDED or any(route_id.startswith(prefix) for prefix in EXCLUDED_PREFIXES)


ROUTES = {_route_id(route.regex): route for route in _walk(get_resolver().url_patterns)}
WALKED = sorted(route_id for route_id, route in ROUTES.items() if _answers_get(route) and not _excluded(route_id))


# Ids of models that no collective owns, which the tenant walk's lookup does not find.
OTHER_MODELS = {"notification_id": Notification, "token_id": PersonalToken}


@dataclass
class Measure:
    status: int
    queries: int
    size: int
    rows: Counter = field(default_factory=Counter, repr=False)  # rows read by each statement
    statements: Counter = field(default_factory=Counter, repr=False)


def _shape(sql: str) -> str:
    """A statement without its values, so that the same query for another row counts as the same."""
    sql = re.sub(r"_django_curs_\w+", "cursor", sql)
    return re.sub(r"IN \([?, ]+\)", "IN (?)", re.sub(r"'[^']*'|\b\d+\b", "?", sql))


def _objects(data: Bounded) -> dict:
    """The object each model's id names in the walk: the ones that own `n` rows."""
    collective = data.collective
    first = {model: model.objects.filter(collective=collective).order_by("pk").first()
             for model in (Envelope, Funding, Task, Export, IssuedDocument, Invitation, FundingImport)}
    return {
        **{model._meta.label: obj for model, obj in first.items()},
        "budgets.Budget": data.budget, "budgets.Period": data.closed_period, "cobudget.Round": data.round,
        "cobudget.Bucket": data.bucket, "contributions.Contribution": data.contribution,
        "cobudget.BucketFlag": BucketFlag.objects.filter(bucket=data.bucket).first(),
        "budgets.Payout": Payout.objects.filter(period=data.closed_period).order_by("pk").first(),
        "members.Membership": Membership.objects.get(collective=collective, user=data.coordinator),
        "members.Collective": collective,
        # The last batch holds every payable payout of the closed period (the others one each).
        "budgets.PayoutBatch": PayoutBatch.objects.filter(collective=collective).order_by("pk").last(),
        "members.PersonalToken": PersonalToken.objects.filter(user=data.coordinator).first(),
        "notifications.Notification": Notification.objects.filter(recipient=data.coordinator).order_by("pk").first(),
        "cobudget.RoundTemplate": _templates(data),
    }


def _templates(data: Bounded) -> RoundTemplate:
    """As many templates as rows; the first holds every round of the collective in its series."""
    collective = data.collective
    templates = RoundTemplate.objects.bulk_create(
        RoundTemplate(collective=collective, name=f"Template {i:04d}", rules={"envelope_amount": "10.00"},
                      participant_roles=["member"], schedule="monthly", created_by=data.coordinator)
        for i in range(Round.objects.filter(collective=collective).count()))
    Round.objects.filter(collective=collective).update(template=templates[0])
    return templates[0]


def _url(route: Route, data: Bounded, objects: dict) -> str:
    values = {}
    for kwarg in route.kwargs:
        if kwarg == URL_KWARG:
            values[kwarg] = data.collective.slug
        elif kwarg in ROUTE_WORDS:
            values[kwarg] = ROUTE_WORDS[kwarg]
        else:
            model = _model_for(route, kwarg) or OTHER_MODELS.get(kwarg)
            if model is None or model._meta.label not in objects:
                raise LookupError(f"no object for {kwarg} in {route.regex}")
            values[kwarg] = objects[model._meta.label].pk
    return route.url(values)


def _user(route: Route, data: Bounded):
    return data.accountant if route.callback.__module__.startswith("accounting") else data.coordinator


def _get(client: Client, url: str, route_id: str) -> Measure:
    rows_read: Counter = Counter()

    def counting_rows(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        rows_read[_shape(sql)] += max(context["cursor"].rowcount, 0)  # -1 for a statement that returns none
        return result

    with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(counting_rows):
        response = client.get(url)
        body = b"".join(response.streaming_content) if response.streaming else response.content
    body = _without_setup_options(route_id, body)
    return Measure(status=response.status_code, queries=len(captured), size=len(body),
                   rows=_beyond_setup(route_id, rows_read), statements=Counter(_shape(q["sql"]) for q in captured))


def _walk_collective(data: Bounded) -> dict[str, Measure]:
    objects = _objects(data)
    clients = {}
    for user in (data.coordinator, data.accountant):
        clients[user.pk] = Client()
        clients[user.pk].force_login(user)
    measures = {}
    for route_id in WALKED:
        route = ROUTES[route_id]
        client = clients[_user(route, data).pk]
        url = _url(route, data, objects)
        client.get(url)  # once to warm what a first request loads (caches, lazy settings)
        measures[route_id] = _get(client, url, route_id)
    return measures


@pytest.fixture(scope="module")
def walks(django_db_setup, django_db_blocker) -> dict[str, dict[str, Measure]]:
    """{size: {route: measure}}, measured in collectives that are rolled back afterwards."""
    with django_db_blocker.unblock(), transaction.atomic():
        built = {size: bounded_collective(f"{n:04d}", n) for size, n in SIZES.items()}
        measured = {size: _walk_collective(data) for size, data in built.items()}
        transaction.set_rollback(True)
    return measured


def _per_row(small: Measure, larger: Measure) -> list[str]:
    """The statements run more often with more rows."""
    grown = larger.statements - small.statements
    return [f"{count}x more: {sql[:300]}" for sql, count in grown.most_common(5)]


def test_the_walk_covers_every_app_and_excludes_only_known_routes():
    assert len(WALKED) > 60
    for prefix in ("/c/<collective_slug>/budgets/", "/c/<collective_slug>/contributions/",
                   "/c/<collective_slug>/cobudget/", "/c/<collective_slug>/accounting/",
                   "/api/v1/collectives/<collective_slug>/payouts/", "/notifications/"):
        assert any(route_id.startswith(prefix) for route_id in WALKED), prefix
    assert all(key in ROUTES for key in EXCLUDED)
    assert all(key in WALKED for key in SETUP_SELECTS)
    assert all(any(r.startswith(prefix) for r in ROUTES) for prefix in EXCLUDED_PREFIXES)


@pytest.mark.django_db
@pytest.mark.parametrize("route_id", WALKED)
def test_a_route_costs_the_same_queries_rows_and_bytes_at_every_size(walks, route_id):
    small, large, larger = (walks[size][route_id] for size in SIZES)
    if small.status == 405:
        pytest.skip("answers GET with 405: a form's POST target, nothing to walk")
    assert small.status == large.status == larger.status, (small.status, large.status, larger.status)
    # A page of 3 rows may need a lookup more than a full page (one per kind of row it happens to show, as the
    # audit trail's targets), never fewer: a query per row would show here.
    assert small.queries >= large.queries == larger.queries, (
        f"{small.queries} / {large.queries} / {larger.queries} queries at {tuple(SIZES.values())} rows",
        _per_row(small, larger),
    )
    assert larger.size <= large.size * SIZE_SLACK_RATIO + SIZE_SLACK_BYTES, (
        f"{small.size} / {large.size} / {larger.size} bytes at {tuple(SIZES.values())} rows"
    )
    assert larger.rows.total() <= large.rows.total(), (
        f"{small.rows.total()} / {large.rows.total()} / {larger.rows.total()} rows read at {tuple(SIZES.values())}",
        [f"{count} more rows: {sql[:400]}" for sql, count in (larger.rows - large.rows).most_common(3)],
    )
