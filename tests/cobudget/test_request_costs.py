"""What a request costs in statements: an allocation through the API, and the person's membership read once."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from members.services import token_create

pytestmark = pytest.mark.django_db

# Measured (README, "What a request costs"): the token with the membership, the bucket; under the locks, two round trips
# (contrib_budget.statements): the locks with what they protect and the ids to write, then the ledger's posting, the
# allocation and the audit event; after the commit, the wallet's balance. The test's own transaction adds a
# savepoint around the service's (two statements), whose release stands for the commit.
ALLOCATION_POST_STATEMENTS = 7
UNDER_THE_BUCKET_LOCK = 2


def _token_client(user) -> APIClient:
    _token, key = token_create(user=user, name="costs")
    return APIClient(HTTP_AUTHORIZATION=f"Token {key}")


def _membership_reads(context: CaptureQueriesContext) -> int:
    """The reads of someone's roles (opening a round also lists the member role's holders: not a role check)."""
    return sum('"members_membership"."roles"' in query["sql"].split(" FROM ")[0]
               for query in context.captured_queries)


def test_an_allocation_through_the_api_runs_a_bounded_number_of_statements(collective, make_round, make_bucket,
                                                                         member):
    bucket = make_bucket(make_round(), min_goal="500.00")
    client = _token_client(member)
    url = f"/api/v1/collectives/{collective.slug}/buckets/{bucket.pk}/allocations/"
    assert client.post(url, {"amount": "1.00"}, format="json").status_code == 201  # the token's last use, once
    for _ in range(3):  # the member's history does not grow the cost
        with CaptureQueriesContext(connection) as context:
            response = client.post(url, {"amount": "1.00"}, format="json")
        assert response.status_code == 201, response.content
        statements = [query["sql"] for query in context.captured_queries]
        assert len(statements) <= ALLOCATION_POST_STATEMENTS, "\n".join(statements)
        lock = next(i for i, sql in enumerate(statements) if "FOR NO KEY UPDATE OF b" in sql)
        released = max(i for i, sql in enumerate(statements) if sql.startswith("RELEASE SAVEPOINT"))
        assert released - lock <= UNDER_THE_BUCKET_LOCK, "\n".join(statements[lock:released])
        assert not any('SUM("cobudget_allocation"."amount")' in sql for sql in statements)
    assert response.json()["wallet_balance"] == "96.00"


def test_an_endpoint_whose_service_checks_the_role_reads_the_membership_once(collective, make_round, coordinator):
    round = make_round(open=False)
    client = _token_client(coordinator)
    with CaptureQueriesContext(connection) as context:
        response = client.patch(f"/api/v1/collectives/{collective.slug}/rounds/{round.pk}/",
                                {"description": "Bread and ovens"}, format="json")
    assert response.status_code == 200, response.content
    assert _membership_reads(context) == 1


def test_a_page_whose_service_checks_the_role_reads_the_membership_once(client, collective, make_round,
                                                                       coordinator):
    round = make_round(open=False)
    client.force_login(coordinator)
    with CaptureQueriesContext(connection) as context:
        response = client.post(f"/c/{collective.slug}/cobudget/{round.pk}/open/")
    assert response.status_code == 302
    round.refresh_from_db()
    assert round.status == "open"
    assert _membership_reads(context) == 1


def test_a_request_that_changes_its_own_roles_then_checks_them_reads_the_change(collective, coordinator):
    from contrib_budget import tenancy
    from contrib_budget.permissions import roles_of
    from members.models import Membership, Role

    membership = Membership.objects.get(collective=collective, user=coordinator)
    token = tenancy.remember_membership(membership)
    try:
        assert Role.COORDINATOR in roles_of(collective=collective, actor=coordinator)
        same_row = Membership.objects.get(pk=membership.pk)
        same_row.roles = [Role.MEMBER.value]
        same_row.save()
        assert roles_of(collective=collective, actor=coordinator) == {Role.MEMBER.value}
    finally:
        tenancy.forget_membership(token)
