"""The members page: one row per person, a search that works without script, an edit dialog for coordinators,
what each role may do, emails for coordinators only, and a removal that states what is kept."""

from datetime import date
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from budgets.models import Budget, Payout, PeriodKind
from budgets.periods import period_for_date
from contributions.models import Contribution
from members.models import Membership, Role
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_login(user)
    return client


def members_url(collective, **query):
    return f"/c/{collective.slug}/members/" + (f"?{urlencode(query)}" if query else "")


@pytest.fixture
def crowd(collective, coordinator, member):
    """Alice (coordinator), Bob and three more, one without a name."""
    extra = [
        MembershipFactory(collective=collective, user=UserFactory(email="dora@example.org", name="Dora Martin"),
                          roles=[Role.CONTRIBUTOR.value, Role.MEMBER.value]).user,
        MembershipFactory(collective=collective, user=UserFactory(email="emile@lafabrique.org", name="Émile"),
                          roles=[Role.ACCOUNTANT.value]).user,
        MembershipFactory(collective=collective, user=UserFactory(email="zoe.anon@example.org", name=""),
                          roles=[Role.MEMBER.value]).user,
    ]
    return [coordinator, member, *extra]


def rows(response) -> list[str]:
    return [m.user.display_name for m in response.context["memberships"]]


def test_one_row_per_person_whatever_their_roles(crowd, collective, coordinator):
    response = client_for(coordinator).get(members_url(collective))
    html = response.content.decode()
    assert html.count('<tr id="member-') == len(crowd) == 5
    # Roles read as words in the row; the role checkboxes live in each person's edit dialog.
    bob = html.split(f'<tr id="member-{Membership.objects.get(user__name="Bob").pk}"')[1].split("</tr>")[0]
    assert "contributor, member" in bob or "member, contributor" in bob
    assert 'type="checkbox"' not in bob


def test_search_by_name_works_without_script(crowd, collective, member):
    response = client_for(member).get(members_url(collective, q="mart"))
    assert rows(response) == ["Dora Martin"]
    assert "1 person found" in response.content.decode()
    assert rows(client_for(member).get(members_url(collective, q="zoe"))) == ["zoe.anon"]
    nobody = client_for(member).get(members_url(collective, q="xyz")).content.decode()
    assert "Nobody matches “xyz”." in nobody


def test_only_coordinators_search_and_read_emails(crowd, collective, coordinator, member):
    assert rows(client_for(coordinator).get(members_url(collective, q="lafabrique"))) == ["Émile"]
    # Others find nobody by an address they may not read: the search tells nothing about emails.
    as_member = client_for(member).get(members_url(collective, q="lafabrique"))
    assert rows(as_member) == []
    assert "emile@lafabrique.org" not in as_member.content.decode()
    assert "Search by name" in as_member.content.decode()
    assert "Search by name or email" in client_for(coordinator).get(members_url(collective)).content.decode()


def test_a_search_with_a_control_character_is_a_form_error_not_a_crash(crowd, collective, coordinator):
    response = client_for(coordinator).get(members_url(collective, q="bo\x00b"))
    assert response.status_code == 200
    assert response.context["search_form"].errors["q"]
    assert len(rows(response)) == 5


def test_coordinators_edit_a_person_in_a_dialog_asked_for_when_opened(crowd, collective, coordinator, member):
    bob = Membership.objects.get(collective=collective, user=member)
    html = client_for(coordinator).get(members_url(collective)).content.decode()
    assert '<dialog id="edit-member-' not in html  # a page of people does not carry a dialog each
    assert f'data-dialog-open="edit-member-{bob.pk}"' in html and f'href="?edit={bob.pk}#edit-member-{bob.pk}"' in html
    # Without script, the link opens the page with the dialog open.
    opened = client_for(coordinator).get(members_url(collective, edit=bob.pk)).content.decode()
    assert f'aria-labelledby="edit-member-{bob.pk}-title" open>' in opened
    assert opened.count('<dialog id="edit-member-') == 1
    # The script asks for the dialog alone and shows it in place.
    part = client_for(coordinator).get(members_url(collective, edit=bob.pk, part="dialog")).content.decode()
    assert part.lstrip().startswith(f'<dialog id="edit-member-{bob.pk}" class="member-dialog" '
                           f'aria-labelledby="edit-member-{bob.pk}-title">')
    assert "Save the roles" in part and "<html" not in part
    as_member = client_for(member).get(members_url(collective, edit=bob.pk)).content.decode()
    assert "<dialog id=\"edit-member-" not in as_member and "Save the roles" not in as_member
    as_member = client_for(member).get(members_url(collective, edit=bob.pk, part="dialog")).content.decode()
    assert "Save the roles" not in as_member


def test_the_page_says_what_each_role_may_do(crowd, collective, member):
    legend = client_for(member).get(members_url(collective)).content.decode().split('id="roles-legend"')[1]
    for role in ("Coordinator", "Contributor", "Member", "Accountant"):
        assert f"<dt>{role}</dt>" in legend
    assert "Declares work (time and value)" in legend and "Exports the books" in legend


def test_saving_roles_names_the_person_and_their_roles(crowd, collective, coordinator, member):
    bob = Membership.objects.get(collective=collective, user=member)
    response = client_for(coordinator).post(f"/c/{collective.slug}/members/{bob.pk}/roles/",
                                            {"roles": ["member", "accountant"]}, follow=True)
    assert "Bob is now: member, accountant." in [str(m) for m in response.context["messages"]]


def _work_of(author, collective) -> Contribution:
    budget = Budget.objects.create(collective=collective, name="Atelier", period_kind=PeriodKind.MONTH,
                                   starts_on=date(2025, 1, 1), amount_per_period=Decimal("100.00"))
    period = period_for_date(budget=budget, day=date(2025, 1, 10))
    contributions = [Contribution.objects.create(
        collective=collective, author=author, budget=budget, period=period, performed_on=date(2025, 1, 10),
        description=f"Travail {n}", value_mode="fixed_price", amount=Decimal("10.00")) for n in range(3)]
    Payout.objects.create(collective=collective, contribution=contributions[0], period=period, person=author,
                          requested=Decimal("10.00"), granted=Decimal("10.00"), explanation_code="full")
    return contributions[0]


def test_removing_states_what_they_lose_and_what_is_kept_then_names_them(crowd, collective, coordinator, member):
    _work_of(member, collective)
    bob = Membership.objects.get(collective=collective, user=member)
    html = client_for(coordinator).get(members_url(collective, edit=bob.pk, part="dialog")).content.decode()
    form = html.split(f'action="/c/{collective.slug}/members/{bob.pk}/remove/"')[1].split(">")[0]
    assert 'data-confirm-title="Remove Bob?"' in form
    assert ("Bob will lose access to La Fabrique and their roles (member, contributor). "
            "What they did is kept: 3 declarations, 1 payout.") in form
    response = client_for(coordinator).post(f"/c/{collective.slug}/members/{bob.pk}/remove/", follow=True)
    assert ("Bob was removed from La Fabrique; kept: 3 declarations, 1 payout."
            in [str(m) for m in response.context["messages"]])
    assert not Membership.objects.filter(pk=bob.pk).exists()
    assert Contribution.objects.filter(author=member).count() == 3 and Payout.objects.filter(person=member).exists()


def test_removing_someone_with_nothing_recorded_says_so(crowd, collective, coordinator):
    dora = Membership.objects.get(collective=collective, user__name="Dora Martin")
    html = client_for(coordinator).get(members_url(collective, edit=dora.pk, part="dialog")).content.decode()
    form = html.split(f'action="/c/{collective.slug}/members/{dora.pk}/remove/"')[1].split(">")[0]
    assert "They have no declaration nor payout here" in form
    response = client_for(coordinator).post(f"/c/{collective.slug}/members/{dora.pk}/remove/", follow=True)
    assert "Dora Martin was removed from La Fabrique." in [str(m) for m in response.context["messages"]]


def test_the_members_page_queries_do_not_grow_with_people(collective, coordinator, member,
                                                          django_assert_max_num_queries):
    client = client_for(coordinator)
    with CaptureQueriesContext(connection) as few:
        client.get(members_url(collective))
    for n in range(30):
        person = MembershipFactory(collective=collective, roles=[Role.CONTRIBUTOR.value]).user
        if n % 3 == 0:
            _work_of(person, collective)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(members_url(collective)).status_code == 200
