"""The API of payment batches and of corrections to grants."""

from decimal import Decimal

import pytest
from django.urls import reverse

from budgets.models import Payout, PayoutBatch

from .helpers import paid_by_transfer_or_not

pytestmark = pytest.mark.django_db


@pytest.fixture
def granted(collective, coordinator):
    paid, unknown = paid_by_transfer_or_not(collective, coordinator, with_iban="120.00", without="80.00")
    return {p.person_id: p for p in Payout.objects.all()}, paid, unknown


def url(name, **kwargs):
    return reverse(name, kwargs={"collective_slug": "la-fabrique", **kwargs})


def test_create_read_download_and_cancel_a_batch(api, accountant, granted, english):
    payouts, paid, unknown = granted
    ids = [payouts[paid.pk].pk, payouts[unknown.pk].pk]
    client = api(accountant)
    response = client.post(url("api-payout-batches"), {"payouts": ids, "method": "sepa"}, format="json",
                           HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["method"], body["total"], body["count"], body["status"]) == ("sepa", "120.00", 1, "prepared")
    assert body["skipped"] == [{"payout": payouts[unknown.pk].pk, "reason": "No bank details are recorded."}]
    assert body["download_url"].endswith(url("api-payout-batch-download", payout_batch_id=body["id"]))
    download = client.get(body["download_url"])
    assert download.status_code == 200 and download["Content-Type"] == "application/xml"
    assert b"<CtrlSum>120.00</CtrlSum>" in download.content
    assert client.get(url("api-payout-batches")).json()["results"][0]["id"] == body["id"]
    assert client.get(url("api-payout-batch", payout_batch_id=body["id"])).json()["payouts"] == [payouts[paid.pk].pk]
    assert client.get(url("api-payout", payout_id=payouts[paid.pk].pk)).json()["state"] == "sent"
    cancelled = client.post(url("api-payout-batch-cancel", payout_batch_id=body["id"]))
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert client.get(url("api-payout", payout_id=payouts[paid.pk].pk)).json()["state"] == "payable"
    again = client.post(url("api-payout-batch-cancel", payout_batch_id=body["id"]))
    assert again.status_code == 409


def test_refusals_save_nothing(api, accountant, member, outsider, granted):
    payouts, _paid, unknown = granted
    ids = [p.pk for p in payouts.values()]
    assert api(member).post(url("api-payout-batches"), {"payouts": ids, "method": "sepa"},
                            format="json").status_code == 403
    assert api(outsider).post(url("api-payout-batches"), {"payouts": ids, "method": "sepa"},
                              format="json").status_code == 404
    assert api(accountant).post(url("api-payout-batches"), {"payouts": ids, "method": "cash"},
                                format="json").status_code == 400
    nothing = api(accountant).post(url("api-payout-batches"), {"payouts": [payouts[unknown.pk].pk],
                                                               "method": "sepa"}, format="json")
    assert nothing.status_code == 409 and nothing.json()["code"] == "nothing_to_send"
    assert not PayoutBatch.objects.exists()


def test_coordinators_reverse_and_correct_through_the_api(api, coordinator, accountant, granted):
    payouts, paid, unknown = granted
    reversed_ = api(coordinator).post(url("api-payout-reverse", payout_id=payouts[unknown.pk].pk),
                                      {"reason": "Déclaré deux fois"}, format="json")
    assert reversed_.status_code == 200, reversed_.content
    assert (reversed_.json()["state"], reversed_.json()["reversed_amount"]) == ("reversed", "80.00")
    assert api(accountant).post(url("api-payout-reverse", payout_id=payouts[paid.pk].pk), {"reason": "x"},
                                format="json").status_code == 403
    api(accountant).post(url("api-payouts-mark-paid"), {"payouts": [payouts[paid.pk].pk]}, format="json")
    corrected = api(coordinator).post(url("api-payout-correct", payout_id=payouts[paid.pk].pk),
                                      {"amount": "20.00", "reason": "Taux"}, format="json")
    assert corrected.status_code == 201, corrected.content
    assert (corrected.json()["amount"], corrected.json()["recovered_at"]) == ("20.00", None)
    too_much = api(coordinator).post(url("api-payout-correct", payout_id=payouts[paid.pk].pk),
                                     {"amount": "101.00", "reason": "Taux"}, format="json")
    assert too_much.status_code == 400
    assert Decimal(Payout.objects.get(pk=payouts[paid.pk].pk).granted) == Decimal("120.00")
