"""The members page a page at a time, whatever the size of the collective, and the search behind every picker of
people: bounded, the collective's members only, emails only to those who read them."""


import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from members.forms import PersonField
from members.models import AuditEvent, Invitation, Membership, Role, User
from members.views import INVITATIONS_PAGE_SIZE, MEMBERS_PAGE_SIZE, SUGGESTIONS
from tests.factories import MembershipFactory, UserFactory

from .test_members_page import client_for, members_url

pytestmark = pytest.mark.django_db


def people(collective, count: int, *, prefix: str = "Person") -> list[User]:
    """`count` more members, made in two statements."""
    start = User.objects.count()
    users = User.objects.bulk_create([User(email=f"{prefix.lower()}{start + n}@example.org",
                                           name=f"{prefix} {start + n:05d}") for n in range(count)])
    Membership.objects.bulk_create([Membership(collective=collective, user=user, roles=[Role.MEMBER.value])
                                    for user in users])
    return users


def suggested(client, collective, search, path="members/search/") -> list[str]:
    response = client.get(f"/c/{collective.slug}/{path}", {"q": search})
    assert response.status_code == 200
    return [result["value"] for result in response.json()["results"]]


def measure(client, url) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries), len(response.content)


def test_the_members_page_shows_a_page_of_people_and_counts_them_all(collective, coordinator):
    people(collective, 60)
    client = client_for(coordinator)
    first = client.get(members_url(collective))
    assert len(first.context["memberships"]) == MEMBERS_PAGE_SIZE
    html = first.content.decode()
    assert "61 people" in html and 'href="?page=2"' in html
    second = client.get(members_url(collective, page=2))
    assert len(second.context["memberships"]) == 61 - MEMBERS_PAGE_SIZE
    assert not {m.pk for m in first.context["memberships"]} & {m.pk for m in second.context["memberships"]}
    # A coordinator edits someone of the second page: the dialog's link keeps the page, which opens with that
    # dialog only.
    someone = second.context["memberships"][0]
    assert f'href="?edit={someone.pk}&amp;page=2#edit-member-{someone.pk}"' in second.content.decode()
    editing = client.get(members_url(collective, edit=someone.pk, page=2))
    assert len(editing.context["memberships"]) == 61 - MEMBERS_PAGE_SIZE
    assert editing.content.decode().count('<dialog id="edit-member-') == 1
    assert f'<dialog id="edit-member-{someone.pk}"' in editing.content.decode()


def test_the_search_pages_its_results_and_its_links_keep_it(collective, coordinator):
    people(collective, 70, prefix="Camille")
    people(collective, 5, prefix="Dominique")
    client = client_for(coordinator)
    found = client.get(members_url(collective, q="camille"))
    assert "70 people found" in found.content.decode()
    assert 'href="?q=camille&amp;page=2"' in found.content.decode()
    assert [m.user.name for m in client.get(members_url(collective, q="Dominique")).context["memberships"]] == [
        m.user.name for m in Membership.objects.of(collective).filter(user__name__startswith="Dominique")
        .order_by("user__name")]
    # A suggestion picked in the search box ("Name <email>") finds that one person.
    camille = Membership.objects.of(collective).filter(user__name__startswith="Camille").last().user
    picked = client.get(members_url(collective, q=f"{camille.name} <{camille.email}>"))
    assert [m.user for m in picked.context["memberships"]] == [camille]


def test_the_members_page_costs_the_same_queries_and_size_at_3_60_and_180_people(collective, coordinator,
                                                                                  member, accountant):
    client = client_for(coordinator)
    invitations = [Invitation(collective=collective, email=f"guest{n}@example.org", invited_by=coordinator,
                              roles=[Role.MEMBER.value]) for n in range(3)]
    Invitation.objects.bulk_create(invitations)
    few_queries, _ = measure(client, members_url(collective))
    people(collective, 57)
    Invitation.objects.bulk_create([Invitation(collective=collective, email=f"more{n}@example.org",
                                               invited_by=coordinator, roles=[Role.MEMBER.value]) for n in range(57)])
    queries_at_60, size_at_60 = measure(client, members_url(collective))
    assert queries_at_60 == few_queries
    people(collective, 120)
    Invitation.objects.bulk_create([Invitation(collective=collective, email=f"many{n}@example.org",
                                               invited_by=coordinator, roles=[Role.MEMBER.value])
                                    for n in range(120)])
    queries_at_180, size_at_180 = measure(client, members_url(collective))
    assert queries_at_180 == few_queries
    # Both show a full page of people and of invitations: only the counts and page numbers differ.
    assert abs(size_at_180 - size_at_60) < 200
    for as_member in (member, accountant):
        assert measure(client_for(as_member), members_url(collective, q="person"))[0] <= few_queries


def test_pending_invitations_come_a_page_at_a_time_with_their_count(collective, coordinator):
    Invitation.objects.bulk_create([Invitation(collective=collective, email=f"guest{n}@example.org",
                                               invited_by=coordinator, roles=[Role.MEMBER.value])
                                    for n in range(INVITATIONS_PAGE_SIZE + 5)])
    client = client_for(coordinator)
    html = client.get(members_url(collective, q="ali")).content.decode()
    table = html.split('id="invitations"')[1].split("</table>")[0]
    assert table.count("<tr>") == INVITATIONS_PAGE_SIZE + 1  # and the heading's row
    assert f'({INVITATIONS_PAGE_SIZE + 5})' in html
    assert 'href="?q=ali&amp;invitations_page=2#pending-title"' in html
    second = client.get(members_url(collective, q="ali", invitations_page=2)).content.decode()
    assert second.split('id="invitations"')[1].split("</table>")[0].count("<tr>") == 5 + 1


def test_the_search_suggests_the_collectives_members_only_and_a_bounded_number(collective, coordinator, member,
                                                                                outsider):
    people(collective, SUGGESTIONS + 10, prefix="Charline")
    client = client_for(coordinator)
    found = suggested(client, collective, "char")
    # Charlie, who belongs to another collective only, is never suggested.
    assert len(found) == SUGGESTIONS and not any("Charlie" in value for value in found)
    assert found == sorted(found)
    assert suggested(client, collective, "Charlie") == suggested(client, collective, "charlie@example.org") == []
    assert suggested(client, collective, "bob") == ["Bob <bob@example.org>"]
    assert suggested(client, collective, "") == []


def test_only_coordinators_and_accountants_find_people_by_email_or_read_it(collective, coordinator, member,
                                                                           accountant):
    assert suggested(client_for(member), collective, "bob") == ["Bob"]
    assert suggested(client_for(member), collective, "bob@example") == []
    assert suggested(client_for(accountant), collective, "bob@example") == ["Bob <bob@example.org>"]
    assert suggested(client_for(coordinator), collective, "example.org")[:1] == ["Alice <alice@example.org>"]


def test_outsiders_get_404_from_the_searches(collective, coordinator, outsider, member):
    for path in ("members/search/", "audit/people/"):
        assert client_for(outsider).get(f"/c/{collective.slug}/{path}", {"q": "a"}).status_code == 404
        assert Client().get(f"/c/{collective.slug}/{path}", {"q": "a"}).status_code in (302, 404)
    assert client_for(member).get(f"/c/{collective.slug}/audit/people/", {"q": "a"}).status_code == 403


def test_the_audit_search_is_bounded_too(collective, coordinator):
    actors = people(collective, SUGGESTIONS + 5, prefix="Acting")
    AuditEvent.objects.bulk_create([AuditEvent(collective=collective, actor=user, action="membership.added")
                                    for user in actors])
    assert len(suggested(client_for(coordinator), collective, "acting", path="audit/people/")) == SUGGESTIONS


def test_a_typed_person_resolves_to_one_member_or_says_why_not(collective, coordinator, member, outsider):
    twin = MembershipFactory(collective=collective, user=UserFactory(email="bob.two@example.org", name="Bob"),
                             roles=[Role.MEMBER.value]).user
    field = PersonField(people=User.objects.filter(memberships__collective=collective), required=False)
    assert field.clean("alice") == coordinator
    assert field.clean("ALICE@example.org") == coordinator
    assert field.clean("Bob <bob.two@example.org>") == twin
    assert field.clean(str(member.pk)) == member
    assert field.clean("") is None
    errors = {
        "Bob": "Several members match “Bob”: be more precise, e.g. type their email address.",
        "Charlie": "No member matches “Charlie”.",
        "charlie@example.org": "No member matches “charlie@example.org”.",
        str(outsider.pk): f"No member matches “{outsider.pk}”.",
        "Alice <charlie@example.org>": "No member matches “Alice <charlie@example.org>”.",
    }
    for typed, message in errors.items():
        with pytest.raises(ValidationError) as error:
            field.clean(typed)
        assert error.value.messages == [message], typed


def test_a_suggestion_picked_by_someone_who_may_not_search_emails_finds_the_person_by_name(collective, member,
                                                                                          accountant):
    long_name = "Marie-" + "Dominique " * 12 + "Lefèvre"
    someone = MembershipFactory(collective=collective, user=UserFactory(email=f"{'m' * 60}@example.org",
                                                                        name=long_name)).user
    # The accountant's suggestions carry the email; the members page, which shows her no email, searches the name.
    picked = suggested(client_for(accountant), collective, "lefèvre")
    assert picked == [f"{long_name} <{someone.email}>"]
    found = client_for(accountant).get(members_url(collective, q=picked[0]))
    assert [m.user for m in found.context["memberships"]] == [someone]
    assert someone.email not in found.content.decode().split('id="members"')[1].split("</table>")[0]
