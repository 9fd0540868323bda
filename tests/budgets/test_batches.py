"""Payment batches: the SEPA file against the scheme, payroll CSV, sent → paid by the bank statement, cancel, and
no payout in two batches."""

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
import xmlschema

from accounting.bank import payouts_mark_paid_from_bank
from budgets.batches import batch_cancel, batch_create, batch_mark_sent
from budgets.ledger_audit import books_violations
from budgets.models import Payout, PayoutBatch
from contrib_budget.errors import Conflict, DomainError
from contributions.closing import period_close
from members.bank import bank_details_set, collective_bank_account_set
from tests.threads import run_concurrently

from .helpers import declare, make_budget, period_at, person

pytestmark = pytest.mark.django_db
XSD = Path(__file__).parent / "data" / "pain.001.001.03.xsd"
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"}
IBANS = ["FR76 3000 6000 0112 3456 7890 189", "de89370400440532013000", "BE68539007547034"]


@pytest.fixture
def paying(collective, coordinator):
    """Four people granted in a closed period: two with IBANs, one paid through payroll, one without details."""
    collective_bank_account_set(collective=collective, actor=coordinator, bank_iban="FR1420041010050500013M02606",
                                bank_bic="", bank_holder="La Fabrique")
    collective.refresh_from_db()
    budget = make_budget(collective, coordinator, received="5000.00", amount_per_period="5000.00")
    people = [person(collective, n) for n in range(4)]
    for n, someone in enumerate(people[:2]):
        bank_details_set(collective=collective, person=someone, actor=someone, method="transfer", iban=IBANS[n],
                         holder=f"Holder {n} & Co")
    bank_details_set(collective=collective, person=people[2], actor=people[2], method="payroll",
                     payroll_reference="PAY-0042")
    for n, someone in enumerate(people):
        declare(budget, someone, f"{100 * (n + 1)}.00")
        declare(budget, someone, "10.50")
    period_close(period=period_at(budget, 0), actor=coordinator)
    return people


def _ids(people):
    return list(Payout.objects.filter(person__in=people).order_by("id").values_list("id", flat=True))


def test_a_sepa_batch_is_valid_against_the_scheme_and_its_control_sum_is_the_total(collective, accountant, paying,
                                                                                   english):
    batch = batch_create(collective=collective, actor=accountant, payout_ids=_ids(paying), method="sepa")
    assert (batch.count, batch.total) == (4, Decimal("110.50") + Decimal("210.50"))
    skipped = {row["payout"]: row["reason"] for row in batch.skipped}
    assert set(skipped) == set(_ids(paying[2:]))
    assert any("payroll" in reason for reason in skipped.values())
    assert any("No bank details" in reason for reason in skipped.values())
    schema = xmlschema.XMLSchema(str(XSD))
    schema.validate(batch.document)
    document = schema.to_dict(batch.document, decimal_type=str)
    header = document["CstmrCdtTrfInitn"]["GrpHdr"]
    assert (Decimal(header["CtrlSum"]), header["NbOfTxs"]) == (batch.total, "2")
    transfers = document["CstmrCdtTrfInitn"]["PmtInf"][0]["CdtTrfTxInf"]
    by_reference = {t["PmtId"]["EndToEndId"]: t for t in transfers}
    first = by_reference[f"CB-B{batch.pk}-{paying[0].pk}"]
    assert first["CdtrAcct"]["Id"]["IBAN"] == "FR7630006000011234567890189"
    assert Decimal(first["Amt"]["InstdAmt"]["$"]) == Decimal("110.50")
    remittance = " ".join(first["RmtInf"]["Ustrd"])
    assert all(f"#{pk}" in remittance for pk in _ids(paying[:1]))
    assert {p.state for p in Payout.objects.filter(person__in=paying[:2])} == {"sent"}
    assert {p.state for p in Payout.objects.filter(person__in=paying[2:])} == {"payable"}


def test_the_bank_statement_marks_a_batch_paid_and_the_books_stay_clean(collective, accountant, paying):
    batch = batch_create(collective=collective, actor=accountant, payout_ids=_ids(paying[:2]), method="sepa")
    batch_mark_sent(batch=batch, actor=accountant)
    lines = "".join(f"2025-02-03;-{amount};VIR SEPA CB-B{batch.pk}-{someone.pk}\n"
                    for someone, amount in ((paying[0], "110,50"), (paying[1], "210,50")))
    results = payouts_mark_paid_from_bank(collective=collective, actor=accountant,
                                          text="Date;Montant;Libellé\n" + lines)
    assert [row["status"] for row in results] == ["paid", "paid"]
    assert {p.state for p in Payout.objects.filter(batch=batch)} == {"paid"}
    assert books_violations(collective) == []
    with pytest.raises(Conflict):
        batch_cancel(batch=batch, actor=accountant)


def test_cancelling_puts_the_payouts_back_and_they_can_go_in_another_batch(collective, accountant, paying):
    ids = _ids(paying[:2])
    batch = batch_create(collective=collective, actor=accountant, payout_ids=ids, method="sepa")
    with pytest.raises(Conflict) as refused:
        batch_create(collective=collective, actor=accountant, payout_ids=ids, method="sepa")
    assert refused.value.code == "nothing_to_send"
    batch_cancel(batch=batch, actor=accountant)
    assert {p.state for p in Payout.objects.filter(pk__in=ids)} == {"payable"}
    again = batch_create(collective=collective, actor=accountant, payout_ids=ids, method="sepa")
    assert again.count == 4 and PayoutBatch.objects.get(pk=batch.pk).status == "cancelled"
    batch_mark_sent(batch=again, actor=accountant)
    with pytest.raises(Conflict):
        batch_cancel(batch=again, actor=accountant)


def test_a_payroll_batch_lists_person_reference_period_amount_and_budget(collective, accountant, paying):
    batch = batch_create(collective=collective, actor=accountant, payout_ids=_ids(paying), method="payroll")
    rows = list(csv.DictReader(io.StringIO(batch.document)))
    assert {row["reference"] for row in rows} == {"PAY-0042"}
    assert sorted(Decimal(row["amount"]) for row in rows) == [Decimal("10.50"), Decimal("300.00")]
    assert {row["person"] for row in rows} == {paying[2].display_name}
    assert rows[0]["budget"] == "Semaine" and rows[0]["period"].startswith("2025-01-06")
    assert len(batch.skipped) == 6


def test_sepa_needs_the_collectives_own_account(collective, coordinator, accountant, paying):
    collective_bank_account_set(collective=collective, actor=coordinator, bank_iban="", bank_bic="", bank_holder="")
    collective.refresh_from_db()
    with pytest.raises(Conflict) as refused:
        batch_create(collective=collective, actor=accountant, payout_ids=_ids(paying), method="sepa")
    assert refused.value.code == "collective_bank_account_missing"
    assert not PayoutBatch.objects.exists()


def test_bad_requests_save_nothing(collective, accountant, member, paying):
    for payout_ids, method in (([], "sepa"), (_ids(paying), "cheque"), ([10 ** 9], "sepa")):
        with pytest.raises(DomainError):
            batch_create(collective=collective, actor=accountant, payout_ids=payout_ids, method=method)
    with pytest.raises(DomainError) as refused:
        batch_create(collective=collective, actor=member, payout_ids=_ids(paying), method="sepa")
    assert refused.value.code == "not_payer"
    assert not PayoutBatch.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_batches_never_hold_the_same_payout(collective, accountant, paying):
    ids = _ids(paying[:2])

    def send(_index):
        return batch_create(collective=collective, actor=accountant, payout_ids=ids, method="sepa").pk

    results, errors = run_concurrently(send, 6)
    assert len(results) == 1, errors
    assert all(isinstance(error, Conflict) for error in errors)
    assert set(Payout.objects.filter(pk__in=ids).values_list("batch_id", flat=True)) == set(results)
