"""The cobudget's pages list a page at a time, and pick people by typing rather than listing every member."""

from decimal import Decimal as D

from cobudget import services
from cobudget.models import Bucket, Round
from tests.cobudget.test_forms import logged_in, page, round_form


def test_the_rounds_come_a_page_at_a_time(collective, coordinator):
    for number in range(30):
        services.round_create(collective=collective, actor=coordinator, name=f"Round {number:02d}",
                              envelope_policy="equal", envelope_amount=D("10.00"))
    client = logged_in(coordinator)
    first = client.get(page(collective)).content.decode()
    assert "Round 29" in first and "Round 05" in first and "Round 04" not in first
    assert 'href="?page=2" rel="next"' in first
    second = client.get(page(collective) + "?page=2").content.decode()
    assert "Round 04" in second and "Round 00" in second and "Round 05" not in second


def test_a_buckets_messages_come_a_page_at_a_time_the_latest_first_shown(collective, coordinator, make_round):
    round = make_round()
    bucket = services.bucket_create(round=round, actor=coordinator, title="Atelier",
                                    lines=[{"description": "All", "min_amount": "10.00", "max_amount": None}])
    for number in range(30):
        services.bucket_comment(bucket=bucket, actor=coordinator, body=f"Message {number:02d}")
    client = logged_in(coordinator)
    latest = client.get(page(collective, "buckets", bucket.pk)).content.decode()
    assert "Message 29" in latest and "Message 25" in latest and "Message 24" not in latest
    older = client.get(page(collective, "buckets", bucket.pk) + "?page=1").content.decode()
    assert "Message 00" in older and "Message 24" in older and "Message 25" not in older


def test_a_co_carrier_is_typed_and_an_unknown_one_saves_nothing(collective, coordinator, member, people, make_round):
    round = make_round()
    client = logged_in(member)
    form = {"title": "Atelier", "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "0", "lines-0-min_amount": "10",
            "save": ""}
    refused = client.post(page(collective, round.pk, "buckets", "new"), {**form, "add_carrier_1": "Nobody"})
    assert refused.status_code == 200 and "No member matches “Nobody”." in refused.content.decode()
    assert not Bucket.objects.filter(title="Atelier").exists()
    saved = client.post(page(collective, round.pk, "buckets", "new"), {**form, "add_carrier_1": "Gaelle"})
    assert saved.status_code == 302
    bucket = Bucket.objects.get(title="Atelier")
    assert sorted(bucket.carriers.values_list("name", flat=True)) == ["Bob", "Gaelle"]
    # Its edit page lists its carriers alone, ticked; unticking one drops them.
    html = client.get(page(collective, "buckets", bucket.pk, "edit")).content.decode()
    carriers = html.split('class="field cb-carriers')[1].split("</fieldset>")[0]
    assert carriers.count('type="checkbox"') == 1 and "Gaelle" in carriers and "checked" in carriers
    edited = client.post(page(collective, "buckets", bucket.pk, "edit"), {**form, "title": "Atelier"})
    assert edited.status_code == 302
    assert list(bucket.carriers.values_list("name", flat=True)) == ["Bob"]


def test_participants_and_their_envelopes_are_typed(collective, coordinator, member, people):
    client = logged_in(coordinator)
    response = client.post(page(collective, "new"), round_form(add_participant_1="Hugo", add_participant_2="Bob"))
    assert response.status_code == 302
    round = Round.objects.get(name="Été")
    assert sorted(round.participants.values_list("name", flat=True)) == ["Bob", "Hugo"]
    html = client.get(page(collective, round.pk, "edit")).content.decode()
    assert html.count('name="participants"') == 2
    manual = client.post(page(collective, "new"), round_form(
        name="Manuel", envelope_policy="manual", envelope_amount="", envelope_person_1="Ines",
        envelope_amount_1="30", envelope_person_2="Jules"))
    assert manual.status_code == 200 and "Give this member an amount, or clear the row." in manual.content.decode()
    assert not Round.objects.filter(name="Manuel").exists()
    manual = client.post(page(collective, "new"), round_form(
        name="Manuel", envelope_policy="manual", envelope_amount="", envelope_person_1="Ines",
        envelope_amount_1="30"))
    assert manual.status_code == 302
    ines = next(person for person in people if person.name == "Ines")
    assert Round.objects.get(name="Manuel").manual_envelopes == {str(ines.pk): "30.00"}
