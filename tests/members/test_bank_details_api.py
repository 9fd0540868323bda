"""Bank details through the API and the pages: the owner sees their IBAN in full, coordinators and accountants
masked, other members nothing, outsiders not even the collective."""

import pytest
from django.urls import reverse
from django.utils import translation

from members import bank
from members.models import BankDetails, Membership

IBAN = "FR7630006000011234567890189"
OUTSIDE_SEPA = "BR1800360305000010009795493C1"


def _mine(collective) -> str:
    return reverse("api-my-bank-details", kwargs={"collective_slug": collective.slug})


def _of(collective, person) -> str:
    membership = Membership.objects.get(collective=collective, user=person)
    return reverse("api-member-bank-details", kwargs={"collective_slug": collective.slug,
                                                      "membership_id": membership.pk})


def _record(collective, person):
    return bank.bank_details_set(collective=collective, person=person, actor=person, method="transfer",
                                 iban=IBAN, holder="Bob Martin")


def test_before_anything_is_recorded_my_details_are_empty(api, collective, member):
    body = api(member).get(_mine(collective)).json()
    assert body == {"method": "", "iban": "", "iban_masked": "", "bic": "", "holder": "", "payroll_reference": "",
                    "updated_at": None}


def test_the_owner_records_and_reads_their_iban_in_full(api, collective, member):
    response = api(member).put(_mine(collective), {"method": "transfer", "iban": "fr76 3000 6000 0112 3456 7890 189",
                                                   "holder": "Bob Martin"}, format="json")
    assert response.status_code == 200, response.json()
    body = api(member).get(_mine(collective)).json()
    assert (body["method"], body["iban"], body["iban_masked"], body["bic"]) == (
        "transfer", IBAN, "FR76 •••• 0189", "AGRIFRPPXXX")
    assert body["updated_at"]


@pytest.mark.parametrize("reader", ["coordinator", "accountant"])
def test_coordinators_and_accountants_read_a_members_details_masked(api, collective, member, reader, request):
    _record(collective, member)
    response = api(request.getfixturevalue(reader)).get(_of(collective, member))
    assert response.status_code == 200
    body = response.json()
    assert body["iban_masked"] == "FR76 •••• 0189" and "iban" not in body
    assert IBAN not in response.content.decode()
    assert (body["method"], body["holder"]) == ("transfer", "Bob Martin")


def test_a_member_cannot_read_someone_elses_details_and_an_outsider_cannot_find_them(
        api, collective, member, coordinator, outsider):
    _record(collective, coordinator)
    assert api(member).get(_of(collective, coordinator)).status_code == 403
    assert api(outsider).get(_of(collective, coordinator)).status_code == 404
    assert api(outsider).get(_mine(collective)).status_code == 404
    assert api(outsider).put(_mine(collective), {"method": "payroll", "payroll_reference": "X"},
                             format="json").status_code == 404
    assert api().get(_mine(collective)).status_code in (401, 403)


def test_a_refused_put_answers_with_its_fields_and_saves_nothing(api, collective, member):
    _record(collective, member)
    client = api(member)
    wrong = client.put(_mine(collective), {"method": "transfer", "iban": OUTSIDE_SEPA, "holder": ""}, format="json")
    assert wrong.status_code == 400
    assert set(wrong.json()["fields"]) == {"iban", "holder"}
    missing = client.put(_mine(collective), {"method": "payroll"}, format="json")
    assert missing.status_code == 400 and set(missing.json()["fields"]) == {"payroll_reference"}
    no_method = client.put(_mine(collective), {"iban": IBAN, "holder": "Bob"}, format="json")
    assert no_method.status_code == 400 and "method" in no_method.json()["fields"]
    assert client.get(_mine(collective)).json()["iban"] == IBAN
    assert BankDetails.objects.get().holder == "Bob Martin"


def test_coordinators_set_the_collectives_account_through_the_collective(api, collective, coordinator, member):
    url = reverse("api-collective", kwargs={"collective_slug": collective.slug})
    response = api(coordinator).patch(url, {"bank_iban": "FR76 3000 6000 0112 3456 7890 189",
                                            "bank_holder": "La Fabrique"}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["bank_iban"], body["bank_bic"], body["bank_holder"]) == (IBAN, "AGRIFRPPXXX", "La Fabrique")
    refused = api(coordinator).patch(url, {"bank_iban": OUTSIDE_SEPA, "name": "Autre"}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "iban_outside_sepa"
    assert "bank_iban" in refused.json()["fields"]
    collective.refresh_from_db()
    assert (collective.bank_iban, collective.name) == (IBAN, "La Fabrique")
    assert api(member).patch(url, {"bank_holder": "Moi"}, format="json").status_code == 403


def test_the_bank_details_page_records_and_shows_the_iban_in_full_to_its_owner(client, collective, member):
    client.force_login(member)
    url = reverse("bank_details", args=[collective.slug])
    refused = client.post(url, {"method": "transfer", "iban": OUTSIDE_SEPA, "holder": "Bob"})
    assert refused.status_code == 400 and "SEPA" in refused.content.decode()
    saved = client.post(url, {"method": "transfer", "iban": "fr76 3000 6000 0112 3456 7890 189",
                              "holder": "Bob Martin"}, follow=True)
    page = saved.content.decode()
    assert saved.status_code == 200 and "FR76 3000 6000 0112 3456 7890 189" in page
    assert BankDetails.objects.get().iban == IBAN


def test_the_members_page_shows_masked_ibans_to_coordinators_and_accountants_only(
        client, collective, member, coordinator, accountant):
    _record(collective, member)
    url = reverse("members", args=[collective.slug])
    for reader in (coordinator, accountant):
        client.force_login(reader)
        page = client.get(url).content.decode()
        assert "FR76 •••• 0189" in page and IBAN not in page
    client.force_login(member)
    assert "•••• 0189" not in client.get(url).content.decode()


def test_the_collective_settings_page_records_the_collectives_account(client, collective, coordinator):
    client.force_login(coordinator)
    url = reverse("collective_settings", args=[collective.slug])
    form = {"name": collective.name, "currency": "EUR", "locale": "fr", "timezone": "Europe/Paris",
            "description": "", "bank_iban": IBAN, "bank_bic": "", "bank_holder": "La Fabrique"}
    assert client.post(url, {**form, "bank_holder": ""}).status_code == 400
    assert client.post(url, form).status_code == 302
    collective.refresh_from_db()
    assert (collective.bank_iban, collective.bank_holder) == (IBAN, "La Fabrique")


def test_the_audit_log_names_a_change_of_bank_details_and_shows_the_iban_masked(client, collective, member,
                                                                                coordinator):
    _record(collective, member)
    client.force_login(coordinator)
    with translation.override("en"):
        page = client.get(reverse("audit_log", args=[collective.slug]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "FR76 •••• 0189" in page and IBAN not in page
