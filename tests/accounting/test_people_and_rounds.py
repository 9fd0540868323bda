"""Payouts, funding use and cobudget round results: exports, the round report, bank matching."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounting import bank, services
from accounting.exporters import REGISTRY
from accounting.exporters.people import transfer_reference
from budgets.models import Payout
from contrib_budget.errors import DomainError, Forbidden

from .test_documents import pdf_text

pytestmark = pytest.mark.django_db


def rows_of(collective, kind, **params) -> list[dict]:
    exporter = REGISTRY[kind](collective=collective, params=params)
    rows = [dict(zip(exporter.header(), row, strict=True)) for row in exporter.rows()]
    assert len(rows) == exporter.count()
    return rows




def test_payouts_export_per_person_and_period(granted_period, contributor, member):
    rows = {row["email"]: row for row in rows_of(granted_period.collective, "payouts", **{"from": "2025-01-01"})}
    david = rows[contributor.email]
    assert (david["requested"], david["granted"], david["paid"], david["payable"], david["owed"]) == (
        Decimal("1500.00"), Decimal("1200.00"), Decimal("900.00"), Decimal("300.00"), Decimal("0.00"))
    assert david["transfer_reference"] == transfer_reference(period_id=granted_period.pk, person_id=contributor.pk)
    assert rows[member.email]["paid"] == 0 and rows[member.email]["payable"] == Decimal("600.00")
    assert rows_of(granted_period.collective, "payouts", **{"to": "2024-12-31"}) == []


def test_funding_use_attributes_every_granted_cent_to_the_fundings(granted_period):
    rows = rows_of(granted_period.collective, "funding_use")
    assert sum(row["attributed_granted"] for row in rows) == Decimal("1800.00")
    by_source = {}
    for row in rows:
        by_source[row["source"]] = by_source.get(row["source"], 0) + row["attributed_granted"]
    assert by_source == {"Région": Decimal("1350.00"), "Fondation": Decimal("450.00")}
    assert sum(row["attributed_paid"] for row in rows) == Decimal("900.00")


def test_bank_csv_marks_matching_transfers_paid(granted_period, contributor, member, accountant, coordinator):
    collective = granted_period.collective
    david_ref = transfer_reference(period_id=granted_period.pk, person_id=contributor.pk)
    bob_ref = transfer_reference(period_id=granted_period.pk, person_id=member.pk)
    text = ("Date;Libellé;Montant\n"
            f"12/05/2025;VIR SEPA {bob_ref} Bob;-600,00\n"
            f"12/05/2025;VIR SEPA {david_ref};-250,00\n"
            "13/05/2025;Loyer;-900,00\n")
    with pytest.raises(Forbidden):
        bank.payouts_mark_paid_from_bank(collective=collective, actor=coordinator, text=text)
    results = bank.payouts_mark_paid_from_bank(collective=collective, actor=accountant, text=text)
    assert [result["status"] for result in results] == ["paid", "amount_mismatch", "unmatched"]
    assert results[1]["expected"] == "300.00"
    paid = Payout.objects.get(person=member)
    assert paid.paid_on == date(2025, 5, 12) and paid.reference == bob_ref
    again = bank.payouts_mark_paid_from_bank(collective=collective, actor=accountant, text=text)
    assert again[0]["status"] == "already_paid"


def test_bank_csv_credits_and_returned_transfers_never_mark_payouts_paid(granted_period, member, accountant):
    collective = granted_period.collective
    reference = transfer_reference(period_id=granted_period.pk, person_id=member.pk)
    returned = f"Date;Libellé;Montant\n14/05/2025;RETOUR VIR {reference};600,00\n"
    assert [r["status"] for r in bank.payouts_mark_paid_from_bank(
        collective=collective, actor=accountant, text=returned)] == ["incoming"]
    debit_and_credit = (f"Date;Libellé;Débit;Crédit\n14/05/2025;RETOUR VIR {reference};;600,00\n"
                        f"15/05/2025;VIR SEPA {reference};600,00;\n")
    results = bank.payouts_mark_paid_from_bank(collective=collective, actor=accountant, text=debit_and_credit)
    assert [r["status"] for r in results] == ["incoming", "paid"]
    assert Payout.objects.get(person=member).paid_on == date(2025, 5, 15)


@pytest.mark.parametrize("written, amount", [
    ("-1 234,56", "1234.56"), ("-1\u202f234,56", "1234.56"), ("-1.234,56", "1234.56"), ("-1,234.56", "1234.56"),
    ("-1,234", "1234"), ("-12,5", "12.5"), ("-600.00", "600"),
])
def test_bank_amounts_are_read_with_one_explicit_convention(written, amount):
    line, = bank.bank_lines(f"date;amount;reference\n2025-05-12;{written};CB-1-2\n")
    assert line.outgoing and line.amount == Decimal(amount)


@pytest.mark.parametrize("written", ["-1,23456", "-1,234.567", "-12,34,56", "-1.5.0", "-abc"])
def test_bank_amounts_with_more_than_two_decimals_or_unreadable_are_refused(written):
    with pytest.raises(DomainError) as error:
        bank.bank_lines(f"date;amount;reference\n2025-05-12;{written};CB-1-2\n")
    assert error.value.code == "bank_csv_amount"


@pytest.mark.parametrize("text, code", [
    ("n\u00da", "bank_csv_columns"),  # one column: the csv module's Sniffer cannot tell its delimiter
    ("", "bank_csv_columns"),
    ("date;amount;reference\n2025-05-12;-1;\"" + "x" * 200_000 + "\"\n", "bank_csv_unreadable"),  # over its field limit
])
def test_a_bank_file_the_csv_module_cannot_read_is_refused(text, code):
    with pytest.raises(DomainError) as error:
        bank.bank_lines(text)
    assert error.value.code == code and "file" in error.value.fields


def test_an_unreadable_bank_file_through_the_api_answers_400(collective, accountant, api):
    upload = SimpleUploadedFile("bank.csv", "n\u00da".encode())
    response = api(accountant).post(f"/api/v1/collectives/{collective.slug}/accounting/bank-statement/",
                                    {"file": upload}, format="multipart")
    assert response.status_code == 400 and response.json()["code"] == "bank_csv_columns"


def test_bank_csv_upload_through_the_api(granted_period, member, accountant, api):
    collective = granted_period.collective
    reference = transfer_reference(period_id=granted_period.pk, person_id=member.pk)
    upload = SimpleUploadedFile("bank.csv", f"date,amount,reference\n2025-05-12,-600.00,{reference}\n".encode())
    response = api(accountant).post(f"/api/v1/collectives/{collective.slug}/accounting/bank-statement/",
                                    {"file": upload}, format="multipart")
    assert response.status_code == 200, response.json()
    assert response.json()["results"][0]["status"] == "paid"


def test_round_results_per_bucket_and_per_member(closed_round, coordinator, member):
    rows = rows_of(closed_round.collective, "round_results", round=closed_round.pk)
    buckets = {row["name"]: row for row in rows if row["section"] == "bucket"}
    assert buckets["Jardin partagé"]["outcome"] == "funded" and buckets["Jardin partagé"]["funded"] == Decimal("100.00")
    assert buckets["Jardin partagé"]["funders"] == 2
    assert buckets["Four à pain"]["outcome"] == "unfunded" and buckets["Four à pain"]["refunded"] == Decimal("30.00")
    members = {row["name"]: row for row in rows if row["section"] == "member"}
    bob = members[member.display_name]
    assert (bob["envelope"], bob["allocated"], bob["returned"]) == (Decimal("100.00"), Decimal("70.00"),
                                                                    Decimal("30.00"))


def test_round_results_report_renders_buckets_and_members(closed_round, member, api):
    response = api(member).get(
        f"/api/v1/collectives/{closed_round.collective.slug}/rounds/{closed_round.pk}/results.pdf")
    assert response.status_code == 200
    text = pdf_text(response.content)
    for expected in ("Cobudget 2026", "Jardin partagé", "Four à pain", "Alice", "Bob", "100,00"):
        assert expected in text, expected


def test_round_results_export_through_the_service(closed_round, accountant):
    export = services.export_request(collective=closed_round.collective, actor=accountant, kind="round_results",
                                     fmt="xlsx", params={"round": closed_round.pk})
    services.export_run(export_id=export.pk)
    export.refresh_from_db()
    assert export.status == "ready" and export.row_count >= 4


def test_the_journal_and_trial_balance_of_one_budget_hold_its_movements_only(granted_period, coordinator):
    from budgets.fundings import funding_create
    from budgets.models import Budget, Entry

    collective = granted_period.collective
    other = Budget.objects.create(collective=collective, name="Autre budget", starts_on=date(2025, 1, 1))
    funding_create(budget=other, actor=coordinator, source="Mairie", amount="50.00")
    rows = rows_of(collective, "journal", budget=granted_period.budget_id)
    assert {row["linked_object"].split("#")[0] for row in rows} == {"budgets.funding", "contributions.payout"}
    assert not any("Mairie" in row["memo"] for row in rows)
    assert sum(row["debit"] for row in rows) == sum(row["credit"] for row in rows) > 0
    assert len(rows) + 2 == Entry.objects.of(collective).count()
    balance = rows_of(collective, "trial_balance", budget=granted_period.budget_id)
    assert sum(row["closing"] for row in balance) == 0
    assert not any(row["account_name"] == "Mairie" for row in balance)


def test_the_journal_of_a_round_holds_its_cobudget_movements(closed_round):
    rows = rows_of(closed_round.collective, "journal", round=closed_round.pk)
    assert rows and {row["linked_object"].split("#")[0] for row in rows} <= {"cobudget.round", "cobudget.bucket",
                                                                               "cobudget.wallet"}
    assert sum(row["debit"] for row in rows) == sum(row["credit"] for row in rows)
