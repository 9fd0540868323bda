"""The cobudget's forms fit the task: the round set-up in sections that never drops a change, the bucket form,
forms offered only to those who may use them, giving that stays at the bucket, and irreversible actions told
in figures before and after."""

import re
from decimal import Decimal

import pytest
from django.test import Client

from budgets.models import Account
from cobudget import outcomes, services
from cobudget.models import Bucket, Round
from members.models import Role
from tests.factories import MembershipFactory, UserFactory

D = Decimal


def logged_in(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def page(collective, *parts) -> str:
    return "/".join([f"/c/{collective.slug}/cobudget", *map(str, parts)]) + "/"


def api_url(collective, *parts) -> str:
    return "/".join([f"/api/v1/collectives/{collective.slug}/rounds", *map(str, parts)]) + "/"


def round_form(**fields) -> dict:
    """What the set-up page sends for a new round, every section filled as a browser would."""
    return {"status_seen": "draft", "name": "Été", "envelope_policy": "equal", "envelope_amount": "40.00",
            "min_carriers": "1", "partial_policy": "refund", "partial_threshold_percent": "100",
            "leftover_policy": "expire", "overallocation_mode": "refuse", "allow_retract": "on", **fields}


def open_round_form(round: Round, **fields) -> dict:
    """What the set-up page of an open round sends: its disabled (locked) inputs send nothing."""
    return {"status_seen": round.status, "name": round.name, "description": round.description,
            "guidelines": round.guidelines, **fields}


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#x27;", "'").replace("&quot;", '"')


# --- round set-up --------------------------------------------------------------------------------------

def test_the_round_set_up_comes_in_sections_with_each_policys_fields_marked(collective, coordinator, people):
    html = logged_in(coordinator).get(page(collective, "new")).content.decode()
    legends = re.findall(r'<fieldset class="card cb-section" id="section-(\w+)">\s*<legend>([^<]+)</legend>', html)
    assert legends == [("basics", "Basics"), ("mode", "How members take part"), ("envelopes", "Envelopes"),
                       ("rules", "Rules"), ("dates", "Dates")]
    assert re.search(r'id="field-weight_from" data-when="envelope_policy" data-values="weighted"', html)
    assert re.search(r'id="field-envelope_amount" data-when="envelope_policy" data-values="equal weighted"', html)
    assert re.search(r'id="field-partial_threshold_percent" data-when="partial_policy" data-values="accept"', html)
    assert 'id="manual-envelopes" data-when="envelope_policy" data-values="manual"' in html
    # No row per member (the page would grow with the collective): members are typed, each with an amount.
    for person in people:
        assert f'name="envelope_{person.pk}"' not in html
    assert 'name="envelope_person_1"' in html and 'name="envelope_amount_1"' in html
    assert re.search(r'name="envelope_person_1"[^>]*data-person-picker', html)
    assert "manual_envelopes_text" not in html


def test_manual_envelopes_are_set_per_member_in_the_table(collective, coordinator, member, people):
    client = logged_in(coordinator)
    response = client.post(page(collective, "new"), round_form(
        envelope_policy="manual", envelope_amount="", **{f"envelope_{coordinator.pk}": "120",
                                                         f"envelope_{member.pk}": "80.50"}))
    assert response.status_code == 302, text_of(response.content.decode())[:2000]
    round = Round.objects.get(name="Été")
    assert round.manual_envelopes == {str(coordinator.pk): "120.00", str(member.pk): "80.50"}
    html = client.get(page(collective, round.pk, "edit")).content.decode()
    assert re.search(rf'name="envelope_{member.pk}" value="80.50"', html)
    services.round_open(round=round, actor=coordinator)
    assert sorted(w.envelope for w in round.wallets.all()) == [D("80.50"), D("120.00")]


def test_without_javascript_the_fields_of_another_policy_are_ignored(collective, coordinator, member, people):
    """All the fields show without JavaScript; those the chosen policy does not use are cleared, not checked."""
    response = logged_in(coordinator).post(page(collective, "new"), round_form(
        weight_from="2026-03-01", weight_to="2026-01-01", envelope_floor="90", envelope_cap="10",
        **{f"envelope_{member.pk}": "70"}))
    assert response.status_code == 302, text_of(response.content.decode())[:2000]
    round = Round.objects.get(name="Été")
    assert (round.envelope_policy, round.envelope_amount) == ("equal", D("40.00"))
    assert (round.weight_from, round.weight_to, round.envelope_floor, round.envelope_cap) == (None,) * 4
    assert round.manual_envelopes == {}


def test_the_chosen_policys_fields_are_still_checked(collective, coordinator, people):
    response = logged_in(coordinator).post(page(collective, "new"), round_form(
        envelope_policy="weighted", envelope_amount="600", weight_from="2026-03-01", weight_to="2026-01-01"))
    assert response.status_code == 200
    assert "Must be on or after the start." in response.content.decode()
    assert not Round.objects.filter(name="Été").exists()


def test_an_open_round_shows_its_locked_rules_and_why(collective, coordinator, make_round):
    round = make_round()
    html = logged_in(coordinator).get(page(collective, round.pk, "edit")).content.decode()
    assert "its envelopes and rules are locked" in html
    assert re.search(r'<input type="number" name="envelope_amount"[^>]*disabled', html)
    assert re.search(r'<select name="envelope_policy"[^>]*disabled', html)
    assert re.search(r'<input type="checkbox" name="allow_retract"[^>]*aria-describedby="lock-rules"[^>]*disabled',
                     html)
    assert 'id="lock-envelopes">Locked since the round opened: the wallets were credited with these envelopes.' in html
    assert 'id="lock-rules">Locked since the round opened: members give under these rules.' in html
    assert not re.search(r'<input type="text" name="name"[^>]*disabled', html)
    assert not re.search(r'name="funding_closes_at"[^>]*disabled', html)


def test_editing_an_open_round_saves_what_may_still_change(collective, coordinator, make_round):
    round = make_round()
    response = logged_in(coordinator).post(page(collective, round.pk, "edit"), open_round_form(
        round, name="Printemps", funding_closes_at="2099-06-01T18:00"))
    assert response.status_code == 302
    round.refresh_from_db()
    assert round.name == "Printemps" and round.funding_closes_at.year == 2099
    assert (round.envelope_amount, round.allow_retract, round.envelope_policy) == (D("100.00"), True, "equal")


@pytest.mark.parametrize("change, label", [
    ({"envelope_amount": "70.00"}, "envelope amount"),
    ({"max_per_member_per_bucket": "15"}, "maximum one member may give one bucket"),
    ({"funding_opens_at": "2099-01-01T10:00"}, "funding opens at"),
    ({"participants": "__member__"}, "participants"),
])
def test_changing_a_locked_rule_of_an_open_round_is_refused_naming_it_and_nothing_is_saved(
        collective, coordinator, member, make_round, change, label):
    round = make_round()
    change = {name: str(member.pk) if value == "__member__" else value for name, value in change.items()}
    response = logged_in(coordinator).post(page(collective, round.pk, "edit"),
                                           open_round_form(round, name="Renamed", **change))
    assert response.status_code == 200
    html = text_of(response.content.decode())
    assert f"The round is open: “{label}” can no longer change. Nothing was saved." in html
    assert "saved." not in html.replace("Nothing was saved.", "")
    round.refresh_from_db()
    assert round.name == "Round 2026" and round.envelope_amount == D("100.00")
    assert round.max_per_member_per_bucket is None and round.funding_opens_at is None
    assert not round.participants.exists()


def test_a_set_up_page_loaded_while_the_round_was_a_draft_cannot_drop_a_change(collective, coordinator,
                                                                                make_round):
    """The page was loaded before the round opened: every field was on it, an unticked box sends nothing."""
    round = make_round(open=False)
    stale = round_form(name=round.name, envelope_amount="100.00")
    stale.pop("allow_retract")  # unticked on the page loaded while it was a draft
    services.round_open(round=round, actor=coordinator)
    response = logged_in(coordinator).post(page(collective, round.pk, "edit"), stale)
    assert response.status_code == 200
    assert "“allocations can be taken back before the close” can no longer change" in text_of(
        response.content.decode())
    round.refresh_from_db()
    assert round.allow_retract is True
    # The same page with nothing locked changed is saved.
    stale["allow_retract"] = "on"
    stale["name"] = "Renamed"
    assert logged_in(coordinator).post(page(collective, round.pk, "edit"), stale).status_code == 302
    assert Round.objects.get(pk=round.pk).name == "Renamed"


def test_the_api_refuses_a_changed_locked_rule_naming_it_and_accepts_it_unchanged(api, collective, coordinator,
                                                                                   make_round):
    round = make_round()
    client = api(coordinator)
    refused = client.patch(api_url(collective, round.pk), {"name": "Renamed", "envelope_amount": "70.00"},
                           format="json")
    assert refused.status_code == 409
    body = refused.json()
    assert body["code"] == "round_open" and list(body["fields"]) == ["envelope_amount"]
    round.refresh_from_db()
    assert round.name == "Round 2026" and round.envelope_amount == D("100.00")
    # What a client read, sent back whole with one allowed change: the locked values are unchanged, so accepted.
    whole = client.get(api_url(collective, round.pk)).json()
    whole = {k: v for k, v in whole.items() if k not in ("id", "status", "created_at", "opened_at", "closed_at",
                                                         "settled_at")}
    accepted = client.patch(api_url(collective, round.pk), {**whole, "name": "Renamed"}, format="json")
    assert accepted.status_code == 200, accepted.json()
    assert accepted.json()["name"] == "Renamed" and accepted.json()["envelope_amount"] == "100.00"
    refused = client.patch(api_url(collective, round.pk), {"participants": [coordinator.pk]}, format="json")
    assert refused.status_code == 409 and list(refused.json()["fields"]) == ["participants"]


# --- bucket form ---------------------------------------------------------------------------------------

def test_the_bucket_form_offers_co_carriers_without_its_author(collective, coordinator, member, people, make_round):
    round = make_round()
    html = logged_in(member).get(page(collective, round.pk, "buckets", "new")).content.decode()
    carriers = html.split('class="field cb-carriers')[1].split("</fieldset>")[0]
    # Nobody is listed: co-carriers are typed, suggested by the members search (the author carries it anyway).
    assert 'type="checkbox"' not in carriers and 'name="add_carrier_1"' in carriers
    assert f'data-suggest-url="/c/{collective.slug}/members/search/"' in carriers
    assert "data-cb-add-line hidden" in html and html.count("data-cb-remove-line hidden") == 3


def test_a_budget_line_without_a_minimum_is_shown_as_a_mistake_not_dropped(collective, member, make_round):
    round = make_round()
    response = logged_in(member).post(page(collective, round.pk, "buckets", "new"), {
        "title": "Vélos", "lines-TOTAL_FORMS": "2", "lines-INITIAL_FORMS": "0",
        "lines-0-description": "Outils", "lines-0-min_amount": "40.00",
        "lines-1-description": "Pneus", "lines-1-max_amount": "20.00",
    })
    assert response.status_code == 200
    assert "Give this line a minimum, or clear the line." in response.content.decode()
    assert not Bucket.objects.filter(title="Vélos").exists()


def test_lines_added_by_the_page_are_all_saved(collective, member, make_round):
    """The page renumbers the lines it adds or removes; the server takes as many as TOTAL_FORMS says."""
    round = make_round()
    data = {"title": "Vélos", "lines-TOTAL_FORMS": "5", "lines-INITIAL_FORMS": "0"}
    for index in range(5):
        data.update({f"lines-{index}-description": f"L{index}", f"lines-{index}-min_amount": "10.00",
                     f"lines-{index}-max_amount": "15.00"})
    assert logged_in(member).post(page(collective, round.pk, "buckets", "new"), data).status_code == 302
    bucket = Bucket.objects.get(title="Vélos")
    assert (bucket.min_goal, bucket.max_goal, bucket.lines.count()) == (D("50.00"), D("75.00"), 5)


# --- forms only for those who may use them -----------------------------------------------------------------

def test_only_carriers_and_coordinators_get_a_buckets_edit_form(collective, coordinator, member, people, make_round,
                                                               make_bucket):
    round = make_round()
    bucket = make_bucket(round, by=people[2])
    assert logged_in(member).get(page(collective, "buckets", bucket.pk, "edit")).status_code == 403
    assert logged_in(member).post(page(collective, "buckets", bucket.pk, "edit"), {"title": "Mine"}).status_code == 403
    assert 'href="/c/la-fabrique/cobudget/buckets/' + str(bucket.pk) + '/edit/"' not in logged_in(member).get(
        page(collective, "buckets", bucket.pk)).content.decode()
    assert logged_in(people[2]).get(page(collective, "buckets", bucket.pk, "edit")).status_code == 200
    assert logged_in(coordinator).get(page(collective, "buckets", bucket.pk, "edit")).status_code == 200
    assert Bucket.objects.get(pk=bucket.pk).title == "Bucket"


def test_only_participants_are_offered_to_propose_a_bucket(collective, member, accountant, make_round):
    round = make_round()
    assert logged_in(accountant).get(page(collective, round.pk, "buckets", "new")).status_code == 403
    assert "Propose a bucket" not in logged_in(accountant).get(page(collective, round.pk)).content.decode()
    assert "Propose a bucket" in logged_in(member).get(page(collective, round.pk)).content.decode()


def test_an_accountant_who_does_not_take_part_sees_no_wallet_nor_giving_on_the_buckets(
        collective, coordinator, member, accountant, make_round, make_bucket):
    round = make_round()
    for title in ("Four", "Vélos", "Jardin"):
        make_bucket(round, title=title)
    html = text_of(logged_in(accountant).get(page(collective, round.pk)).content.decode())
    assert "no wallet" not in html and "I gave" not in html and "Give" not in html
    assert html.count("You do not take part in this round") == 1
    bucket_page = text_of(logged_in(accountant).get(page(collective, "buckets", Bucket.objects.first().pk))
                          .content.decode())
    assert "no wallet" not in bucket_page and "You do not take part" not in bucket_page
    assert "I gave" in text_of(logged_in(member).get(page(collective, round.pk)).content.decode())


def test_the_payouts_page_is_for_coordinators_and_accountants(collective, coordinator, member, accountant):
    contributor = MembershipFactory(collective=collective, user=UserFactory(email="dan@example.org"),
                                    roles=[Role.CONTRIBUTOR.value]).user
    url = f"/c/{collective.slug}/payouts/"
    assert logged_in(member).get(url).status_code == 403
    assert logged_in(contributor).get(url).status_code == 403
    assert logged_in(accountant).get(url).status_code == 200
    assert logged_in(coordinator).get(url).status_code == 200


# --- giving ----------------------------------------------------------------------------------------------

def test_giving_returns_to_the_bucket_on_the_page_it_came_from(collective, member, make_round, make_bucket):
    round = make_round()
    bucket = make_bucket(round)
    client = logged_in(member)
    response = client.post(page(collective, "buckets", bucket.pk, "allocate"),
                           {"amount": "20", "direction": "give", "next": page(collective, round.pk) + "?show=all"})
    assert response.status_code == 302 and response.url == page(collective, round.pk) + f"?show=all#bucket-{bucket.pk}"
    response = client.post(page(collective, "buckets", bucket.pk, "allocate"), {"amount": "5", "direction": "give"})
    assert response.url == page(collective, "buckets", bucket.pk) + f"#bucket-{bucket.pk}"
    assert f'id="bucket-{bucket.pk}"' in client.get(page(collective, "buckets", bucket.pk)).content.decode()


def test_giving_through_htmx_swaps_the_buckets_box_with_the_outcome_in_it(collective, member, make_round,
                                                                          make_bucket):
    round = make_round()
    bucket = make_bucket(round, min_goal="40.00", max_goal="80.00")
    response = logged_in(member).post(page(collective, "buckets", bucket.pk, "allocate"),
                                      {"amount": "30", "direction": "give", "next": page(collective, round.pk)},
                                      HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith(f'<div class="cb-give" id="give-{bucket.pk}">')
    assert 'class="message success cb-outcome" role="status"' in html and "You gave €30.00." in html
    assert 'id="wallet" hx-swap-oob="true"' in html and 'class="cb-balance">€70.00<' in html
    assert f'name="next" value="{page(collective, round.pk)}"' in html  # the next give still comes back here
    refused = logged_in(member).post(page(collective, "buckets", bucket.pk, "allocate"),
                                     {"amount": "60", "direction": "give"}, HTTP_HX_REQUEST="true")
    assert "This bucket only needs €50.00 more." in refused.content.decode()
    assert 'class="message error cb-outcome"' in refused.content.decode()


def test_the_cap_and_my_room_show_before_i_give_and_take_back_only_where_i_gave(collective, member, people,
                                                                                make_round, make_bucket):
    round = make_round(max_per_member_per_bucket=D("30.00"))
    mine = make_bucket(round, title="Mine", min_goal="100.00")
    other = make_bucket(round, title="Other", min_goal="100.00")
    services.allocation_create(bucket=mine, actor=member, amount="20.00")
    services.allocation_create(bucket=other, actor=people[2], amount="20.00")
    html = logged_in(member).get(page(collective, round.pk)).content.decode()
    card = {b.pk: text_of(html.split(f'id="bucket-{b.pk}"')[1].split("</article>")[0]) for b in (mine, other)}
    assert "Still needed: €80.00 · at most €30.00 per member · you can give up to €10.00" in card[mine.pk]
    assert "you can give up to €30.00" in card[other.pk]
    assert "Take back" in card[mine.pk] and "Take back" not in card[other.pk]


def test_merged_and_withdrawn_buckets_leave_the_grid_unless_asked_for(collective, coordinator, member, make_round,
                                                                      make_bucket):
    round = make_round()
    kept = make_bucket(round, title="Kept")
    merged = make_bucket(round, title="Merged")
    withdrawn = make_bucket(round, title="Withdrawn")
    services.bucket_merge(bucket=merged, into=kept, actor=coordinator)
    services.bucket_cancel(bucket=withdrawn, actor=coordinator)
    client = logged_in(member)
    html = client.get(page(collective, round.pk)).content.decode()
    assert f'id="bucket-{kept.pk}"' in html
    assert f'id="bucket-{merged.pk}"' not in html and f'id="bucket-{withdrawn.pk}"' not in html
    assert 'href="?show=all">Show the merged and withdrawn buckets (2)' in html
    shown = client.get(page(collective, round.pk) + "?show=all").content.decode()
    assert f'id="bucket-{merged.pk}"' in shown and f'id="bucket-{withdrawn.pk}"' in shown
    # The live refresh concerns what the page shows (its `seen` names the buckets), the withdrawn ones too.
    seen = shown.split('id="cb-seen" name="seen" value="')[1].split('"')[0]
    assert "Hide merged and withdrawn buckets" in shown and f"-{merged.pk}." in seen and f"-{withdrawn.pk}." in seen
    live = client.get(page(collective, round.pk, "live")).content.decode()
    assert f'id="funding-{merged.pk}"' not in live


# --- irreversible actions in figures ----------------------------------------------------------------------

def test_closing_a_round_asks_in_figures_and_reports_in_figures(collective, coordinator, member, people,
                                                                make_round, make_bucket):
    round = make_round(leftover_policy="return_to_pool")
    funded = make_bucket(round, title="Four", min_goal="50.00", max_goal="90.00")
    short = make_bucket(round, title="Vélos", min_goal="100.00")
    services.allocation_create(bucket=funded, actor=member, amount="60.00")
    services.allocation_create(bucket=short, actor=people[2], amount="30.00")
    client = logged_in(coordinator)
    html = client.get(page(collective, round.pk)).content.decode()
    question = re.search(r'data-confirm="([^"]+)"', html.split(f'action="{page(collective, round.pk, "close")}"')[1]
                         ).group(1)
    assert "1 bucket is funded: €60.00 in total." in question
    assert "1 bucket did not reach its minimum: €30.00 go back to the wallets." in question
    # six wallets of 100 €, 90 € given, of which 30 € come back: 540 € left, to the pool.
    assert "Then the €540.00 left in the wallets returns to the collective&#x27;s cobudget pool." in question
    response = client.post(page(collective, round.pk, "close"), follow=True)
    assert ("Round closed: 1 bucket funded, €60.00. €30.00 from 1 unfunded bucket went back to the wallets. "
            "€540.00 left in the wallets returned to the cobudget pool.") in text_of(response.content.decode())


def test_closing_before_the_funding_window_ends_warns_with_its_date(collective, coordinator, make_round):
    from django.utils import timezone

    round = make_round(funding_closes_at=timezone.now() + timezone.timedelta(days=3))
    html = logged_in(coordinator).get(page(collective, round.pk)).content.decode()
    assert "data-confirm-warning=\"Funding was to stay open until" in html


def test_merging_states_both_goals_before_and_after_and_reports_the_new_need(collective, coordinator, member,
                                                                            make_round, make_bucket):
    round = make_round()
    source = make_bucket(round, title="Bancs", min_goal="300.00", max_goal="400.00")
    target = make_bucket(round, title="Jardin partagé", min_goal="1000.00", max_goal="1220.00")
    services.allocation_create(bucket=source, actor=member, amount="20.00")
    client = logged_in(coordinator)
    html = client.get(page(collective, "buckets", source.pk)).content.decode()
    merge = html.split('<details class="card cb-merge" id="merge">')[1].split("</details>")[0]
    option = re.search(rf'<option value="{target.pk}" data-confirm="([^"]+)"', merge).group(1)
    assert "“Bancs”: goal €300.00 to €400.00, €20.00 raised; it is then withdrawn." in option
    assert "“Jardin partagé” before: goal €1,000.00 to €1,220.00, €0.00 raised." in option
    assert "“Jardin partagé” after: goal €1,300.00 to €1,620.00, €20.00 raised." in option
    response = client.post(page(collective, "buckets", source.pk, "action", "merge"), {"into": target.pk}, follow=True)
    assert "Merged: “Jardin partagé” now needs €1,300.00 to €1,620.00; €20.00 raised." in text_of(
        response.content.decode())


def test_merge_is_offered_only_into_buckets_the_reader_may_merge_into(collective, coordinator, member, make_round,
                                                                     make_bucket):
    round = make_round()
    mine = make_bucket(round, by=member, title="Mine")
    make_bucket(round, by=coordinator, title="Not mine")
    html = logged_in(member).get(page(collective, "buckets", mine.pk)).content.decode()
    assert 'id="merge"' not in html  # Bob carries no other bucket
    assert 'id="merge"' in logged_in(coordinator).get(page(collective, "buckets", mine.pk)).content.decode()


def test_withdrawing_asks_in_figures_and_reports_what_went_back(collective, coordinator, member, people, make_round,
                                                                make_bucket):
    round = make_round()
    bucket = make_bucket(round, title="Four")
    services.allocation_create(bucket=bucket, actor=member, amount="20.00")
    services.allocation_create(bucket=bucket, actor=people[2], amount="15.00")
    client = logged_in(coordinator)
    html = client.get(page(collective, "buckets", bucket.pk)).content.decode()
    assert ("Withdraw “Four”? The €35.00 it raised go back to its 2 funders&#x27; wallets, and it leaves the round "
            "for good.") in html
    response = client.post(page(collective, "buckets", bucket.pk, "action", "cancel"), follow=True)
    assert "“Four” withdrawn: €35.00 went back to 2 wallets." in text_of(response.content.decode())
    assert Account.objects.get(pk=Bucket.objects.get(pk=bucket.pk).account_id).balance == 0


def test_opening_a_round_asks_and_reports_in_figures(collective, coordinator, people, make_round):
    round = make_round(open=False)
    client = logged_in(coordinator)
    html = client.get(page(collective, round.pk)).content.decode()
    assert "Opening “Round 2026” credits 6 wallets with €600.00 in total." in html
    response = client.post(page(collective, round.pk, "open"), follow=True)
    assert "Round open: 6 wallets credited, €600.00 in total." in text_of(response.content.decode())


def test_the_close_preview_matches_what_the_close_does(collective, coordinator, member, people, make_round,
                                                       make_bucket):
    round = make_round(partial_policy="accept", partial_threshold_percent=50)
    partial = make_bucket(round, min_goal="100.00")
    unfunded = make_bucket(round, min_goal="100.00")
    services.allocation_create(bucket=partial, actor=member, amount="60.00")
    services.allocation_create(bucket=unfunded, actor=people[2], amount="40.00")
    preview = outcomes.round_close_preview(round)
    services.round_close(round=round, actor=coordinator)
    statuses = dict(Bucket.objects.filter(round=round).values_list("pk", "status"))
    assert statuses == {partial.pk: "partially_funded", unfunded.pk: "unfunded"}
    assert (preview.funded, preview.partially, preview.unfunded) == (1, 1, 1)
    assert (preview.funded_total, preview.refunded) == (D("60.00"), D("40.00"))
    assert preview.left_in_wallets == outcomes.selectors.round_totals(round)["left_at_close"] == D("540.00")
