"""Finding people by typing: a coordinator searches the members page of a large collective, an accountant picks
whose statement to get from the suggestions, and a name several people share is refused until it is precise."""

import pytest
from playwright.sync_api import expect

from members.models import Membership, Role, User
from tests.factories import verified_member

pytestmark = pytest.mark.e2e


@pytest.fixture
def crowd(collective):
    """Alice (coordinator), Carol (accountant), two Martins and 80 more: more than a page of members."""
    team = {
        "alice": verified_member(collective, "alice@example.org", "Alice", [Role.COORDINATOR.value, Role.MEMBER.value]),
        "carol": verified_member(collective, "carol@example.org", "Carol", [Role.ACCOUNTANT.value]),
        "dora": verified_member(collective, "dora@example.org", "Dora Martin", [Role.MEMBER.value]),
        "david": verified_member(collective, "david@example.org", "David Martin", [Role.CONTRIBUTOR.value]),
    }
    users = User.objects.bulk_create([User(email=f"p{n}@example.org", name=f"Person {n:03d}") for n in range(80)])
    Membership.objects.bulk_create([Membership(collective=collective, user=user, roles=[Role.MEMBER.value])
                                    for user in users])
    return team


def suggestions(page, input_id: str):
    return page.locator(f"#{input_id}-suggestions option")


def test_a_coordinator_finds_a_member_of_a_large_collective_by_typing(page, login, collective, crowd):
    login(page, "alice@example.org")
    page.goto(f"/c/{collective.slug}/members/")
    expect(page.locator("#people-title")).to_have_text("84 people")
    expect(page.locator("#members tbody tr")).to_have_count(50)
    expect(page.locator("nav.pagination").first).to_contain_text("Page 1 of 2")

    search = page.get_by_label("Search by name or email")
    search.press_sequentially("dora", delay=30)
    expect(suggestions(page, "id_q")).to_have_count(1)
    picked = suggestions(page, "id_q").first.get_attribute("value")
    assert picked == "Dora Martin <dora@example.org>"
    search.fill(picked)
    with page.expect_navigation():
        search.press("Enter")
    expect(page.locator("#members tbody tr")).to_have_count(1)
    expect(page.locator("#members")).to_contain_text("Dora Martin")


def test_an_accountant_picks_a_person_by_typing_and_gets_their_statement(page, login, collective, crowd):
    login(page, "carol@example.org")
    page.goto(f"/c/{collective.slug}/accounting/")
    person = page.get_by_label("Person")
    expect(page.locator("#statement-form select")).to_have_count(0)

    # A name two people share is refused with the reason, and nothing is sent.
    person.fill("Martin")
    with page.expect_navigation():
        page.get_by_role("button", name="Get the PDF").click()
    expect(page.locator("#statement-form")).to_contain_text("Several members match “Martin”: be more precise")

    person = page.get_by_label("Person")
    person.fill("")
    person.press_sequentially("davi", delay=30)
    expect(suggestions(page, "id_membership")).to_have_count(1)
    person.fill(suggestions(page, "id_membership").first.get_attribute("value"))
    page.get_by_label("Year").fill("2025")
    david = Membership.objects.get(collective=collective, user=crowd["david"])
    with page.expect_request(lambda request: "statement.pdf" in request.url) as statement:
        page.get_by_role("button", name="Get the PDF").click()
    assert statement.value.url.endswith(f"/members/{david.pk}/statement.pdf?year=2025")
