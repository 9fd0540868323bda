"""The audit log in the reader's language: labels instead of codes, objects by name, filters by action, person and
days that keep the pagination, and a CSV download of what is filtered, safe in a spreadsheet."""

import csv
import io
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cobudget import services as cobudget
from members import services
from members.audit import audit_key_label
from members.models import AuditEvent, Collective, Membership, Role
from members.selectors import audit_events
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def client_for(user, language="en") -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    client.force_login(user)
    return client


def audit_url(collective, suffix=""):
    return f"/c/{collective.slug}/audit/{suffix}"


@pytest.fixture
def demo():
    call_command("seed_demo", stdout=StringIO())
    fabrique = Collective.objects.get(slug="la-fabrique")
    alice = Membership.objects.of(fabrique).get(user__email__startswith="alice@").user
    return fabrique, alice


def test_every_key_the_demo_records_has_a_label(demo):
    """Each app names what it records: a key without a label would show as a code."""
    unlabelled = sorted({
        f"{event.target_type or event.action}: {key}"
        for event in AuditEvent.objects.all()
        for snapshot in (event.before, event.after) if isinstance(snapshot, dict)
        for key in snapshot
        if audit_key_label(event, key) is None
    })
    assert unlabelled == []


def test_the_log_shows_labels_and_names_not_codes(demo):
    fabrique, alice = demo
    client = client_for(alice)
    html = "".join(client.get(audit_url(fabrique), {"action": action}).content.decode() for action in (
        "payout.granted", "contribution.declared", "contribution.validated", "budget.created", "period.closed"))
    table = "".join(part.split("</table>")[0] for part in html.split('<table class="stack" id="audit">')[1:])
    assert "object (" not in table
    assert "Payout to Bob Lefebvre for “Permanences lundi et mercredi”" in table
    for code in ("validated_amount", "decision_reason", "value_mode", "amount_per_period", "pending", "time_rate"):
        assert f">{code}" not in table and f" {code}:" not in table, code
    assert "status:</span> pending review → validated" in table
    assert "validated amount:</span> — → €220.00" in table
    assert "period:</span> Animation du tiers-lieu · " in table


def test_the_log_speaks_french_with_money_the_french_way(demo):
    fabrique, alice = demo
    html = client_for(alice, "fr").get(audit_url(fabrique), {"action": "contribution.validated"}).content.decode()
    assert "déclaration validée" in html
    assert "220,00\xa0€" in html


def test_filters_by_action_person_and_days_keep_the_pagination(collective, coordinator, member):
    other = UserFactory(name="Zoé")
    now = timezone.now()
    AuditEvent.objects.bulk_create(
        [AuditEvent(collective=collective, actor=coordinator, action="membership.added", target_label=f"p{i}",
                    after={"roles": ["member"]}, created_at=now - timedelta(days=10)) for i in range(60)]
        + [AuditEvent(collective=collective, actor=other, action="membership.added", target_label="by Zoé",
                      created_at=now)]
        + [AuditEvent(collective=collective, actor=None, action="collective.updated", target_label="La Fabrique",
                      created_at=now)]
    )
    client = client_for(coordinator)
    by_alice = client.get(audit_url(collective), {"person": coordinator.pk, "action": "membership.added"})
    assert by_alice.context["page"].paginator.count == 60
    navigation = by_alice.content.decode().split('<nav class="pagination"')[1].split("</nav>")[0]
    assert f'href="?person={coordinator.pk}&amp;action=membership.added&amp;page=2"' in navigation
    page_two = client.get(audit_url(collective), {"person": coordinator.pk, "action": "membership.added", "page": 2})
    assert len(page_two.context["page"].object_list) == 10
    assert {e.actor_id for e in page_two.context["page"].object_list} == {coordinator.pk}

    system = client.get(audit_url(collective), {"person": "system"}).context["page"].object_list
    assert [e.action for e in system] == ["collective.updated"]
    today = timezone.localdate().isoformat()
    recent = client.get(audit_url(collective), {"since": today, "until": today}).context["page"]
    assert recent.paginator.count == 2
    older = client.get(audit_url(collective), {"until": (timezone.localdate() - timedelta(days=5)).isoformat()})
    assert older.context["page"].paginator.count == 60
    form = client.get(audit_url(collective)).context["form"]
    assert ("membership.added", "member added") in form.fields["action"].choices
    # The person is typed or picked among suggestions, never listed: Zoé, who is no member, is found by her name.
    assert 'list="id_person-suggestions"' in client.get(audit_url(collective)).content.decode()
    assert people_suggested(client, collective, "zo") == [f"Zoé <{other.email}>"]
    assert people_suggested(client, collective, "system") == ["the system"]
    for typed in ("Zoé", "zoé", f"Zoé <{other.email}>", other.email, str(other.pk)):
        by_zoe = client.get(audit_url(collective), {"person": typed})
        assert [e.target_label for e in by_zoe.context["page"].object_list] == ["by Zoé"], typed
    assert [e.action for e in client.get(audit_url(collective), {"person": "the system"}).context["page"]
            .object_list] == ["collective.updated"]


def people_suggested(client, collective, search) -> list[str]:
    response = client.get(audit_url(collective, "people/"), {"q": search})
    assert response.status_code == 200
    return [result["value"] for result in response.json()["results"]]


def test_bad_filters_are_form_errors_and_the_rest_applies(collective, coordinator):
    services.collective_update(collective=collective, actor=coordinator, name="La Grande Fabrique")
    client = client_for(coordinator)
    response = client.get(audit_url(collective), {"action": "nope", "since": "2026-13-45",
                                                  "person": coordinator.pk})
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["action"] and form.errors["since"]
    assert response.context["page"].paginator.count == 1
    backwards = client.get(audit_url(collective), {"since": "2026-05-02", "until": "2026-05-01"})
    assert backwards.context["form"].errors["until"]


def test_the_csv_holds_the_filtered_log_readable_and_inert_in_a_spreadsheet(collective, coordinator, member):
    trickster = MembershipFactory(collective=collective, user=UserFactory(email="t@example.org", name="=HYPERLINK(1)"),
                                  roles=[Role.COORDINATOR.value]).user
    bob = Membership.objects.get(collective=collective, user=member)
    services.membership_set_roles(membership=bob, actor=trickster, roles=["accountant"])
    services.collective_update(collective=collective, actor=coordinator, name="La Grande Fabrique")
    response = client_for(coordinator).get(audit_url(collective, "csv/"), {"action": "membership.roles_changed"})
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-la-fabrique-')
    content = b"".join(response.streaming_content).decode("utf-8")
    assert content.startswith("\ufeff")
    lines = list(csv.reader(io.StringIO(content.removeprefix("\ufeff"))))
    assert lines[0] == ["When", "Who", "Action", "Action code", "Target", "Changes"]
    assert len(lines) == 2
    row = lines[1]
    assert row[1] == "'=HYPERLINK(1)"
    assert row[2:5] == ["roles changed", "membership.roles_changed", "Bob @ La Fabrique"]
    assert row[5] == "roles: member, contributor → accountant"


def test_the_csv_uses_semicolons_in_french(collective, coordinator):
    services.collective_update(collective=collective, actor=coordinator, name="La Grande Fabrique")
    content = b"".join(client_for(coordinator, "fr").get(audit_url(collective, "csv/")).streaming_content).decode()
    header = content.splitlines()[0]
    assert header.startswith("\ufeffQuand;Qui;") and header.count(";") == 5


def test_only_coordinators_read_or_download_the_log(collective, coordinator, member, accountant, outsider):
    for user in (member, accountant):
        assert client_for(user).get(audit_url(collective)).status_code == 403
        assert client_for(user).get(audit_url(collective, "csv/")).status_code == 403
    assert client_for(outsider).get(audit_url(collective, "csv/")).status_code == 404


def test_a_search_by_person_never_finds_what_a_round_still_hides(collective, coordinator, member):
    MembershipFactory(collective=collective, user=UserFactory(email="gaelle@example.org", name="Gaëlle"),
                      roles=[Role.MEMBER.value])
    round = cobudget.round_create(collective=collective, actor=coordinator, name="Secret", envelope_policy="equal",
                                  envelope_amount=Decimal("100.00"), hide_allocations_until_close=True)
    round = cobudget.round_open(round=round, actor=coordinator)
    bucket = cobudget.bucket_propose(bucket=cobudget.bucket_create(
        round=round, actor=coordinator, title="Four",
        lines=[{"description": "Briques", "min_amount": "10.00", "max_amount": "50.00"}]), actor=coordinator)
    cobudget.allocation_create(bucket=bucket, actor=member, amount="12.00")
    client = client_for(coordinator)
    everything = client.get(audit_url(collective), {"action": "cobudget.allocate"}).context["page"]
    assert everything.paginator.count == 1 and everything.object_list[0].hidden
    # Bob did nothing else: he is no person to search for, and asking for him finds nothing of his.
    by_bob = client.get(audit_url(collective), {"person": member.pk})
    assert by_bob.context["form"].errors["person"]
    assert all(event.actor_id != member.pk for event in by_bob.context["page"].object_list)
    assert not audit_events(collective, actor=member.pk).exists()
    # Neither suggested nor found when typed, by name or email: the filter says nobody matches.
    assert people_suggested(client, collective, "bob") == people_suggested(client, collective, "b") == []
    for typed in ("Bob", "bob@example.org", "Bob <bob@example.org>", "bo"):
        typed_bob = client.get(audit_url(collective), {"person": typed})
        assert "Nobody who did something in this log matches" in typed_bob.context["form"].errors["person"][0]
        assert all(event.actor_id != member.pk for event in typed_bob.context["page"].object_list)
    csv_text = b"".join(client.get(audit_url(collective, "csv/")).streaming_content).decode()
    allocation = next(row for row in csv.reader(io.StringIO(csv_text)) if "cobudget.allocate" in row)
    # The first column is the time of day, which may itself read 12.
    shown = ",".join(allocation[1:])
    assert "Bob" not in shown and "12" not in shown and "hidden until the round closes" in shown
    cobudget.round_close(round=round, actor=coordinator)
    assert client.get(audit_url(collective), {"person": member.pk}).context["page"].paginator.count == 1
    assert client.get(audit_url(collective), {"person": "Bob"}).context["page"].paginator.count == 1
    assert people_suggested(client, collective, "bob") == ["Bob <bob@example.org>"]


def test_every_page_of_the_log_takes_a_few_queries_whatever_it_names(demo):
    """One query per kind of object named, not one per row."""
    fabrique, alice = demo
    client = client_for(alice)
    pages = client.get(audit_url(fabrique)).context["page"].paginator.num_pages
    assert pages >= 3
    for number in range(1, pages + 1):
        with CaptureQueriesContext(connection) as captured:
            client.get(audit_url(fabrique), {"page": number})
        assert len(captured.captured_queries) <= 16, number
