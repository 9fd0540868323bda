"""The accountant picks whose statement to get by typing a name or an email, never in a list of every member:
the typed text designates exactly one member of the collective, or the page says why not and sends nothing."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from members.models import Membership, Role, User
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def books(client, closed_period, accountant) -> Client:
    client.force_login(accountant)
    client.cookies["django_language"] = "en"
    return client


def statement(client, collective, person, year=2025):
    return client.get(f"/c/{collective.slug}/accounting/statements/person/", {"membership": person, "year": year})


def statement_of(collective, user, year=2025) -> str:
    membership = Membership.objects.of(collective).get(user=user)
    return f"/api/v1/collectives/{collective.slug}/members/{membership.pk}/statement.pdf?year={year}"


def test_the_page_offers_a_search_box_not_a_list_of_every_member(books, closed_period, contributor):
    collective = closed_period.collective
    html = books.get(f"/c/{collective.slug}/accounting/").content.decode()
    form = html.split('id="statement-form"')[1].split("</form>")[0]
    assert '<select name="membership"' not in form and "<option" not in form
    assert '<label for="id_membership">Person:</label>' in form
    assert 'type="text" name="membership"' in form and 'list="id_membership-suggestions"' in form
    assert f'data-suggest-url="/c/{collective.slug}/members/search/"' in form


def test_the_accounting_page_costs_the_same_whatever_the_number_of_members(books, closed_period, contributor):
    collective = closed_period.collective
    url = f"/c/{collective.slug}/accounting/"
    books.get(url)

    def measure():
        with CaptureQueriesContext(connection) as captured:
            response = books.get(url)
        return len(captured.captured_queries), len(response.content)

    few = measure()
    users = User.objects.bulk_create([User(email=f"p{n}@example.org", name=f"Person {n}") for n in range(200)])
    Membership.objects.bulk_create([Membership(collective=collective, user=user, roles=[Role.MEMBER.value])
                                    for user in users])
    assert measure() == few


def test_a_typed_name_email_or_picked_suggestion_gets_that_persons_statement(books, closed_period, contributor):
    collective = closed_period.collective
    for typed in ("David Martin", "david", "DAVID@example.org", "David Martin <david@example.org>"):
        response = statement(books, collective, typed)
        assert response.status_code == 302, typed
        assert response["Location"] == statement_of(collective, contributor)
    suggestions = books.get(f"/c/{collective.slug}/members/search/", {"q": "mart"}).json()["results"]
    assert suggestions == [{"value": "David Martin <david@example.org>"}]


def test_a_name_several_share_asks_for_more_and_sends_nothing(books, closed_period, contributor):
    collective = closed_period.collective
    other = MembershipFactory(collective=collective, user=UserFactory(email="elise@example.org", name="Élise Martin"),
                              roles=[Role.MEMBER.value]).user
    response = statement(books, collective, "Martin")
    assert response.status_code == 400 and "Location" not in response
    form = response.context["statement_form"]
    assert form.errors["membership"] == [
        "Several members match “Martin”: be more precise, e.g. type their email address."]
    assert 'value="Martin"' in response.content.decode().split('id="statement-form"')[1]
    assert statement(books, collective, "Élise Martin <elise@example.org>")["Location"] == statement_of(
        collective, other)


def test_nobody_outside_the_collective_can_be_designated(books, closed_period, contributor, outsider):
    collective = closed_period.collective
    elsewhere = Membership.objects.get(user=outsider)
    for typed in ("Charlie", "charlie@example.org", f"Charlie <{outsider.email}>", str(elsewhere.pk), "Zorro"):
        response = statement(books, collective, typed)
        assert response.status_code == 400, typed
        assert response.context["statement_form"].errors["membership"] == [f"No member matches “{typed}”."]
    assert books.get(f"/c/{collective.slug}/members/search/", {"q": "charlie"}).json()["results"] == []
    empty = statement(books, collective, "")
    assert empty.status_code == 400 and empty.context["statement_form"].errors["membership"]
