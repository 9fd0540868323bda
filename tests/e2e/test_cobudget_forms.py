"""The cobudget's forms in a browser: the round set-up shows the chosen policy's fields and never drops a change,
budget lines add up live, giving stays at the bucket, merging asks first with both goals, every page fits 375 px."""

import re
from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from playwright.sync_api import expect

from cobudget import services
from cobudget.models import Bucket, Round
from members.models import Role
from tests.e2e.axe import AXE_SCRIPT, FAILING, axe_violations, described
from tests.e2e.conftest import SCREENSHOTS_DIR
from tests.factories import MembershipFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NARROW = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True}
WIDE = {"viewport": {"width": 1366, "height": 900}}


@pytest.fixture
def people(collective, coordinator, member):
    extra = [MembershipFactory(collective=collective, user=UserFactory(email=f"{name}@example.org", name=name.title()),
                               roles=[Role.MEMBER.value]).user for name in ("gaelle", "hugo")]
    for person in (coordinator, member, *extra):
        EmailAddress.objects.create(user=person, email=person.email, verified=True, primary=True)
    return [coordinator, member, *extra]


@pytest.fixture
def open_as(new_context, login):
    def open_page(person, url, **options):
        page = new_context(**(options or NARROW)).new_page()
        login(page, person.email)
        page.goto(url)
        return page

    return open_page


def fits(page) -> None:
    width = page.evaluate("window.innerWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url


def test_the_round_set_up_shows_only_the_chosen_policys_fields_and_sets_envelopes_per_member(
        open_as, collective, coordinator, member, people):
    page = open_as(coordinator, f"/c/{collective.slug}/cobudget/new/")
    for legend in ("Basics", "Envelopes", "Rules", "Dates"):
        expect(page.locator("fieldset.cb-section > legend", has_text=legend)).to_be_visible()
    amount, weights, table = page.locator("#field-envelope_amount"), page.locator("#field-weight_from"), \
        page.locator("#manual-envelopes")
    expect(amount).to_be_visible()
    expect(weights).to_be_hidden()
    expect(table).to_be_hidden()
    expect(page.locator("#field-partial_threshold_percent")).to_be_hidden()
    fits(page)

    page.get_by_label("Envelopes", exact=True).select_option("weighted")
    expect(weights).to_be_visible()
    expect(page.locator("#field-envelope_cap")).to_be_visible()
    page.get_by_label("Envelopes", exact=True).select_option("manual")
    expect(amount).to_be_hidden()
    expect(weights).to_be_hidden()
    expect(page.locator("#field-participants")).to_be_hidden()
    expect(table).to_be_visible()
    page.get_by_label("Buckets below their minimum").select_option("accept")
    expect(page.locator("#field-partial_threshold_percent")).to_be_visible()

    page.get_by_label("Name", exact=True).fill("Printemps")
    rows = table.locator("tr.cb-person-add")
    rows.nth(0).get_by_label("Member").fill("Alice")
    rows.nth(0).get_by_label("Envelope").fill("120")
    rows.nth(1).get_by_label("Member").fill("Bob")
    rows.nth(1).get_by_label("Envelope").fill("80.50")
    expect(table.locator(".cb-total")).to_have_text("€200.50")
    fits(page)
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r"/cobudget/\d+/$"))
    round = Round.objects.get(name="Printemps")
    assert round.manual_envelopes == {str(coordinator.pk): "120.00", str(member.pk): "80.50"}


def test_editing_an_open_round_shows_the_locked_rules_and_refuses_a_change_to_one(open_as, collective, coordinator,
                                                                                   people):
    round = services.round_create(collective=collective, actor=coordinator, name="Printemps",
                                  envelope_amount=Decimal("100.00"))
    page = open_as(coordinator, f"/c/{collective.slug}/cobudget/{round.pk}/edit/")
    # Loaded while the round is a draft: everything can change. The round opens before the page is sent.
    services.round_open(round=round, actor=coordinator)
    page.get_by_label("Envelope amount").fill("150")
    page.get_by_label("Name", exact=True).fill("Printemps 2026")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".errorlist.nonfield")).to_contain_text(
        "The round is open: “envelope amount” can no longer change. Nothing was saved.")
    round.refresh_from_db()
    assert (round.name, round.envelope_amount) == ("Printemps", Decimal("100.00"))

    # The page now shows the open round: the locked rules greyed out, with their reason.
    page.goto(f"/c/{collective.slug}/cobudget/{round.pk}/edit/")
    expect(page.get_by_label("Envelope amount")).to_be_disabled()
    expect(page.locator("#lock-envelopes")).to_have_text(
        "Locked since the round opened: the wallets were credited with these envelopes.")
    expect(page.get_by_label("Allocations can be taken back before the close")).to_be_disabled()
    fits(page)
    # A crafted change to a locked rule is refused too, naming it, and nothing is saved.
    page.evaluate("document.querySelector('[name=allow_retract]').disabled = false")
    page.get_by_label("Allocations can be taken back before the close").uncheck()
    page.evaluate("document.querySelector('form.cb-round-form').insertAdjacentHTML('beforeend', "
                  "'<input type=hidden name=allow_retract value=\"\">')")
    page.get_by_label("Name", exact=True).fill("Printemps 2026")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".errorlist.nonfield")).to_contain_text(
        "“allocations can be taken back before the close” can no longer change")
    round.refresh_from_db()
    assert (round.name, round.allow_retract) == ("Printemps", True)
    # What may still change is saved.
    page.goto(f"/c/{collective.slug}/cobudget/{round.pk}/edit/")
    page.get_by_label("Name", exact=True).fill("Printemps 2026")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".message.success")).to_have_text("The round is saved.")
    round.refresh_from_db()
    assert round.name == "Printemps 2026"


def test_bucket_lines_add_up_live_and_the_carriers_list_searches(open_as, collective, coordinator, member, people):
    round = services.round_open(round=services.round_create(
        collective=collective, actor=coordinator, name="Printemps", envelope_amount=Decimal("100.00")),
        actor=coordinator)
    page = open_as(member, f"/c/{collective.slug}/cobudget/{round.pk}/buckets/new/")
    page.get_by_label("Title").fill("Atelier vélo")
    rows = page.locator("[data-cb-line]")
    expect(rows).to_have_count(1)  # of the blank lines the page comes with, one is kept: lines are added at will
    total = page.locator("[data-cb-lines-total]")
    rows.nth(0).get_by_label("Budget line").fill("Outils")
    rows.nth(0).get_by_label("Minimum").fill("40")
    rows.nth(0).get_by_label("Maximum (optional)").fill("60")
    expect(total).to_have_text(re.compile(r"Minimum goal\s+€40\.00\s+·\s+Maximum goal\s+€60\.00"))
    page.get_by_role("button", name="Add a line").click()
    page.get_by_role("button", name="Add a line").click()
    expect(rows).to_have_count(3)
    rows.nth(1).get_by_label("Minimum").fill("999")
    rows.nth(2).get_by_label("Budget line").fill("Pneus")
    rows.nth(2).get_by_label("Minimum").fill("25.50")
    expect(total).to_contain_text("€1,064.50")
    rows.nth(1).get_by_role("button", name="Remove").click()  # the lines after it are renumbered
    expect(rows).to_have_count(2)
    expect(total).to_have_text(re.compile(r"Minimum goal\s+€65\.50\s+·\s+Maximum goal\s+€85\.50"))

    carriers = page.locator(".cb-carriers")
    expect(carriers.get_by_label("Bob")).to_have_count(0)  # the author carries it anyway
    carriers.get_by_label("Add a carrier").first.fill("Gaelle")
    fits(page)
    page.get_by_role("button", name="Save and propose").click()
    page.wait_for_url(re.compile(r"/cobudget/buckets/\d+/$"))
    bucket = Bucket.objects.get(title="Atelier vélo")
    assert (bucket.min_goal, bucket.max_goal) == (Decimal("65.50"), Decimal("85.50"))
    assert [line.description for line in bucket.lines.all()] == ["Outils", "Pneus"]
    assert sorted(bucket.carriers.values_list("name", flat=True)) == ["Bob", "Gaelle"]


def test_giving_stays_at_the_bucket_and_shows_my_room_first(open_as, collective, coordinator, member, people):
    round = services.round_open(round=services.round_create(
        collective=collective, actor=coordinator, name="Printemps", envelope_amount=Decimal("100.00"),
        max_per_member_per_bucket=Decimal("40.00")), actor=coordinator)
    buckets = [services.bucket_propose(actor=coordinator, bucket=services.bucket_create(
        round=round, actor=coordinator, title=f"Projet {n}", lines=[{"min_amount": "50.00", "max_amount": "80.00"}]))
        for n in range(8)]
    last = buckets[-1]
    page = open_as(member, f"/c/{collective.slug}/cobudget/{round.pk}/")
    page.evaluate("window.notReloaded = true")
    card = page.locator(f"#bucket-{last.pk}")
    card.scroll_into_view_if_needed()
    expect(card.locator(".cb-room")).to_have_text(re.compile(
        r"Still needed: €80\.00\s+· at most €40\.00 per member\s+· you can give up to €40\.00"))
    expect(card.get_by_role("button", name="Take back")).to_have_count(0)
    scrolled = page.evaluate("window.scrollY")
    assert scrolled > 0
    card.get_by_label("Amount").fill("30")
    card.get_by_role("button", name="Give").click()
    expect(card.locator(".cb-outcome")).to_have_text("You gave €30.00.")
    expect(card.locator(".cb-mine")).to_have_text("€30.00")
    expect(card.locator(".cb-room")).to_contain_text("you can give up to €10.00")
    expect(card.get_by_role("button", name="Take back")).to_be_visible()
    expect(page.locator("#wallet .cb-balance")).to_have_text("€70.00")
    assert page.evaluate("window.notReloaded") is True
    assert abs(page.evaluate("window.scrollY") - scrolled) < 50
    box = card.bounding_box()
    assert 0 <= box["y"] < 812
    # Only where I gave can I take back; other cards still offer to give.
    expect(page.locator(f"#bucket-{buckets[0].pk}").get_by_role("button", name="Take back")).to_have_count(0)
    card.get_by_label("Amount").fill("20")
    card.get_by_role("button", name="Give").click()
    expect(card.locator(".cb-outcome")).to_contain_text("One member may give at most €40.00 to a bucket")
    fits(page)


def test_merging_is_folded_asks_with_both_goals_and_cancelling_changes_nothing(open_as, collective, coordinator,
                                                                              member, people):
    round = services.round_open(round=services.round_create(
        collective=collective, actor=coordinator, name="Printemps", envelope_amount=Decimal("100.00")),
        actor=coordinator)

    def bucket(title, low, high):
        return services.bucket_propose(actor=coordinator, bucket=services.bucket_create(
            round=round, actor=coordinator, title=title, lines=[{"min_amount": low, "max_amount": high}]))

    source = bucket("Bancs", "300.00", "400.00")
    target = bucket("Jardin partagé", "1000.00", "1220.00")
    services.allocation_create(bucket=source, actor=member, amount="20.00")
    page = open_as(coordinator, f"/c/{collective.slug}/cobudget/buckets/{source.pk}/")
    merge = page.locator("details#merge")
    expect(merge.get_by_role("button", name="Merge")).to_be_hidden()  # folded by default
    fits(page)
    merge.locator("summary").click()
    merge.get_by_label("Bucket").select_option(str(target.pk))
    merge.get_by_role("button", name="Merge").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("“Jardin partagé” before: goal €1,000.00 to €1,220.00, €0.00 raised.")
    expect(dialog).to_contain_text("“Jardin partagé” after: goal €1,300.00 to €1,620.00, €20.00 raised.")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert Bucket.objects.get(pk=source.pk).status == "open"
    assert Bucket.objects.get(pk=target.pk).min_goal == Decimal("1000.00")

    merge.get_by_role("button", name="Merge").click()
    page.locator("#confirm-dialog-ok").click()
    page.wait_for_url(f"**/cobudget/buckets/{target.pk}/")
    expect(page.locator(".message.success")).to_have_text(
        "Merged: “Jardin partagé” now needs €1,300.00 to €1,620.00; €20.00 raised.")
    assert Bucket.objects.get(pk=source.pk).status == "cancelled"
    # The merged bucket leaves the round's grid; a filter brings it back.
    page.goto(f"/c/{collective.slug}/cobudget/{round.pk}/")
    expect(page.locator(f"#bucket-{source.pk}")).to_have_count(0)
    page.get_by_role("link", name=re.compile("Show the merged or withdrawn bucket")).click()
    expect(page.locator(f"#bucket-{source.pk}")).to_be_visible()


@pytest.mark.parametrize("options", [NARROW, WIDE], ids=["375", "1366"])
def test_the_cobudget_pages_fit_the_screen_and_pass_axe(open_as, collective, coordinator, member, people, options):
    round = services.round_open(round=services.round_create(
        collective=collective, actor=coordinator, name="Printemps d'un très long nom de tour de cobudget",
        envelope_amount=Decimal("100.00"), max_per_member_per_bucket=Decimal("40.00")), actor=coordinator)
    bucket = services.bucket_propose(actor=coordinator, bucket=services.bucket_create(
        round=round, actor=coordinator, title="Un four à pain pour tout le quartier",
        lines=[{"description": "Briques réfractaires", "min_amount": "1200.00", "max_amount": "1500.00"}]))
    other = services.bucket_propose(actor=coordinator, bucket=services.bucket_create(
        round=round, actor=coordinator, title="Bancs", lines=[{"min_amount": "100.00"}]))
    services.allocation_create(bucket=bucket, actor=member, amount="25.00")
    base = f"/c/{collective.slug}/cobudget"
    SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
    page = open_as(coordinator, f"{base}/", **options)
    pages = {"rounds": f"{base}/", "round-new": f"{base}/new/", "round": f"{base}/{round.pk}/",
             "round-edit-open": f"{base}/{round.pk}/edit/", "bucket-new": f"{base}/{round.pk}/buckets/new/",
             "bucket": f"{base}/buckets/{bucket.pk}/", "bucket-edit": f"{base}/buckets/{bucket.pk}/edit/",
             "bucket-merge": f"{base}/buckets/{other.pk}/"}
    page.context.add_init_script(path=AXE_SCRIPT)
    problems = []
    for name, url in pages.items():
        page.goto(url)
        if page.locator("details#merge").count():
            page.locator("details#merge summary").click()
        fits(page)
        problems += [described(violation, name) for violation in axe_violations(page) if violation["impact"] in FAILING]
        page.screenshot(path=SCREENSHOTS_DIR / f"cobudget-{name}-{options['viewport']['width']}.png", full_page=True)
    assert problems == [], "\n".join(problems)
