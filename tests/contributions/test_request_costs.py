"""What declaring through the API costs in statements (README, "What a request costs")."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from members.services import token_create

pytestmark = pytest.mark.django_db

# The token with the membership, the budget and the rate named in the body; the period found; the declaration's
# id reserved; then one trip that locks the period and writes the declaration and its audit event. The test's own
# transaction adds a savepoint around the service's (two statements).
DECLARATION_POST_STATEMENTS = 8


def test_a_declaration_through_the_api_runs_a_bounded_number_of_statements(member, collective, budget, rate):
    _token, key = token_create(user=member, name="costs")
    client = APIClient(HTTP_AUTHORIZATION=f"Token {key}")
    url = f"/api/v1/collectives/{collective.slug}/contributions/"
    body = {"budget": budget.pk, "performed_on": timezone.localdate().isoformat(), "minutes": 90,
            "description": "Bread oven", "value_mode": "time_rate", "rate_level": rate.pk}
    assert client.post(url, body, format="json").status_code == 201  # the token's last use, once
    with CaptureQueriesContext(connection) as context:
        response = client.post(url, body, format="json")
    assert response.status_code == 201, response.content
    statements = [query["sql"] for query in context.captured_queries]
    assert len(statements) <= DECLARATION_POST_STATEMENTS, "\n".join(statements)
    [locking] = [sql for sql in statements if "FOR UPDATE" in sql]
    assert locking.count("INSERT INTO") == 2, locking  # under the period's lock for one trip only
    assert statements.index(locking) >= len(statements) - 2, statements  # its savepoint's release after it
    declared = response.json()
    assert declared["amount"] == "30.00" and declared["status"] == "pending" and declared["comments_count"] == 0
    assert declared["granted_amount"] is None and declared["author"]["id"] == member.pk
    assert declared["period"] is not None
