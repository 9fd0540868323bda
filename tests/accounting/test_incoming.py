"""Importing the money that arrives: each reader on its sample file, the preview that writes nothing, one apply."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from accounting.incoming.readers import incoming_lines
from accounting.incoming.services import funding_import_apply, funding_import_choose, funding_import_preview
from accounting.models import FundingImport, FundingImportLine
from budgets.fundings import funding_create
from budgets.ledger_audit import books_violations
from budgets.models import Entry, Funding, LedgerTransaction
from contrib_budget.errors import DomainError, Forbidden

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data"


def sample(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("fmt, name, expected", [
    ("bank", "bank_credits.csv", [
        (2, date(2025, 3, 3), "1500.00", "", "VIR SEPA FONDATION DES COMMUNS SUBVENTION 2025", ""),
        (4, date(2025, 3, 10), "750.00", "", "VIR SEPA MAIRIE DE LILLE ATELIERS", ""),
        (6, date(2025, 3, 14), "120.50", "", "REMISE CHEQUE ADHESIONS", ""),
    ]),
    ("helloasso", "helloasso_payments.csv", [
        (2, date(2025, 3, 15), "50.00", "Marie Dupont", "Soutenir le tiers-lieu", "101254"),
        (3, date(2025, 3, 16), "25.00", "Jean Martin", "Soutenir le tiers-lieu", "101255"),
        (5, date(2025, 3, 18), "120.00", "Hugo Petit", "Adhésion 2025", "101257"),
    ]),
    ("liberapay", "liberapay_donations.csv", [
        (2, date(2025, 3, 1), "12.00", "ada_lovelace", "la-fabrique", "58231"),
        (3, date(2025, 3, 1), "5.00", "grace-h", "la-fabrique", "58232"),
        (4, date(2025, 3, 8), "12.00", "ada_lovelace", "la-fabrique", "58377"),
    ]),
    ("opencollective", "opencollective_transactions.csv", [
        (2, date(2025, 3, 4), "96.80", "Claire Moreau", "Monthly financial contribution to La Fabrique",
         "8f14e45f-ceea-467f-a0e6-1c5b9e2a7f01"),
        (3, date(2025, 3, 6), "242.45", "Coopérative Tilia", "Financial contribution to La Fabrique",
         "c9f0f895-fb98-4ab6-b5b4-3d2a2f7b9c02"),
    ]),
])
def test_each_reader_reads_the_money_that_came_in_from_its_sample_file(fmt, name, expected):
    """Debits, expenses, refunds and failed or refunded payments are left out; amounts arrive net of fees."""
    lines = incoming_lines(fmt=fmt, text=sample(name))
    assert [(line.number, line.day, str(line.amount), line.payer, line.reference, line.external_id)
            for line in lines] == expected
    assert all(line.currency in ("", "EUR") for line in lines)


@pytest.mark.parametrize("fmt, text, code", [
    ("bank", "Date;Libellé;Débit\n03/03/2025;EDF;84,20\n", "import_columns"),
    ("helloasso", "Date;Montant;Nom\n15/03/2025;50,0011;Dupont\n", "import_amount"),
    ("liberapay", "date,donor,amount,currency\nyesterday,ada,12.00,EUR\n", "import_line"),
    ("liberapay", 'date,donor,amount,currency\n"2025-03-01,ada,12.00,EUR\n', "import_line"),
    ("paypal", "date,amount\n2025-03-01,12.00\n", "import_format"),
])
def test_a_file_that_cannot_be_read_is_refused_naming_why(fmt, text, code):
    with pytest.raises(DomainError) as refused:
        incoming_lines(fmt=fmt, text=text)
    assert refused.value.code == code and refused.value.fields


@pytest.fixture
def pledges(budget, coordinator):
    """Two pledges of 50.00: the older one from a foundation, the newer one from Marie Dupont; one of 120.00."""
    return {
        "foundation": funding_create(budget=budget, actor=coordinator, source="Fondation Lille", amount="50.00"),
        "marie": funding_create(budget=budget, actor=coordinator, source="Marie Dupont", amount="50.00",
                                source_kind="donation"),
        "hugo": funding_create(budget=budget, actor=coordinator, source="Adhésions", amount="120.00"),
    }


def preview(collective, coordinator, budget, fmt="helloasso", name="helloasso_payments.csv"):
    return funding_import_preview(collective=collective, actor=coordinator, fmt=fmt, text=sample(name), budget=budget)


def lines_of(funding_import):
    return list(FundingImportLine.objects.filter(funding_import=funding_import).order_by("number"))


def books(collective) -> tuple[int, int, int]:
    return (Funding.objects.filter(collective=collective).count(),
            LedgerTransaction.objects.filter(collective=collective).count(),
            Entry.objects.filter(transaction__collective=collective).count())


def test_the_preview_proposes_the_pledge_the_payer_names_then_creates_and_writes_nothing(
        collective, coordinator, budget, pledges):
    before = books(collective)
    funding_import = preview(collective, coordinator, budget)
    assert books(collective) == before
    assert [(line.number, line.proposed_action, line.funding_id, line.budget_id)
            for line in lines_of(funding_import)] == [
        (2, "receive", pledges["marie"].pk, budget.pk),  # Marie Dupont's own pledge, not the older one
        (3, "create", None, budget.pk),
        (5, "receive", pledges["hugo"].pk, budget.pk),  # no name matches: the oldest pledge of that amount
    ]
    assert all(Funding.objects.get(pk=pledge.pk).status == "pledged" for pledge in pledges.values())


def test_a_pledge_is_proposed_to_one_line_only(collective, coordinator, budget):
    pledge = funding_create(budget=budget, actor=coordinator, source="Ada", amount="12.00")
    funding_import = preview(collective, coordinator, budget, "liberapay", "liberapay_donations.csv")
    assert [(line.proposed_action, line.funding_id) for line in lines_of(funding_import)] == [
        ("receive", pledge.pk), ("create", None), ("create", None)]


def test_applying_receives_the_matched_pledges_and_creates_the_others_with_the_lines_dates(
        collective, coordinator, budget, pledges):
    funding_import = funding_import_apply(funding_import=preview(collective, coordinator, budget), actor=coordinator)
    assert books_violations(collective) == []
    marie, hugo = (Funding.objects.get(pk=pledges[key].pk) for key in ("marie", "hugo"))
    assert (marie.status, marie.received_on, marie.amount) == ("received", date(2025, 3, 15), Decimal("50.00"))
    assert (hugo.status, hugo.received_on) == ("received", date(2025, 3, 18))
    assert Funding.objects.get(pk=pledges["foundation"].pk).status == "pledged"
    created = Funding.objects.get(source="Jean Martin")
    assert (created.status, created.received_on, created.amount, created.source_kind, created.budget_id) == (
        "received", date(2025, 3, 16), Decimal("25.00"), "donation", budget.pk)
    assert funding_import.status == "applied" and funding_import.summary == {
        "currency": "EUR", "received": {"count": 2, "total": "170.00"}, "created": {"count": 1, "total": "25.00"},
        "skipped": {"count": 0, "total": "0.00"}, "duplicates": {"count": 0, "total": "0.00"}}
    assert [line.outcome for line in lines_of(funding_import)] == ["receive", "create", "receive"]
    assert lines_of(funding_import)[1].funding_id == created.pk


def test_a_bank_credit_becomes_a_funding_of_another_kind(collective, coordinator, budget, english):
    funding_import = preview(collective, coordinator, budget, "bank", "bank_credits.csv")
    funding_import_apply(funding_import=funding_import, actor=coordinator,
                         choices=[{"number": 4, "action": "skip"}, {"number": 6, "action": "skip"}])
    created = Funding.objects.get(collective=collective)
    assert (created.source, created.source_kind, created.amount) == ("bank statement (its credits)", "other",
                                                                     Decimal("1500.00"))


def test_the_same_file_imported_twice_is_all_duplicates_and_changes_nothing(collective, coordinator, budget, pledges):
    funding_import_apply(funding_import=preview(collective, coordinator, budget), actor=coordinator)
    before = books(collective)
    again = preview(collective, coordinator, budget)
    assert [line.proposed_action for line in lines_of(again)] == ["duplicate"] * 3
    again = funding_import_apply(funding_import=again, actor=coordinator,
                                 choices=[{"number": 3, "action": "create", "budget": budget.pk}])
    assert books(collective) == before and books_violations(collective) == []
    assert again.summary["duplicates"] == {"count": 3, "total": "195.00"}


def test_applying_twice_has_one_effect(collective, coordinator, budget, pledges):
    funding_import = preview(collective, coordinator, budget)
    funding_import_apply(funding_import=funding_import, actor=coordinator)
    before = books(collective)
    funding_import_apply(funding_import=funding_import, actor=coordinator)
    assert books(collective) == before


def test_two_previews_of_one_file_bring_the_money_in_once(collective, coordinator, budget):
    first, second = (preview(collective, coordinator, budget, "liberapay", "liberapay_donations.csv")
                     for _ in range(2))
    funding_import_apply(funding_import=first, actor=coordinator)
    before = books(collective)
    second = funding_import_apply(funding_import=second, actor=coordinator)
    assert books(collective) == before and second.summary["duplicates"]["count"] == 3


def test_receiving_a_pledge_of_another_amount_is_refused_and_nothing_is_written(
        collective, coordinator, budget, pledges, english):
    funding_import = preview(collective, coordinator, budget)
    before = books(collective)
    with pytest.raises(DomainError) as refused:
        funding_import_apply(funding_import=funding_import, actor=coordinator,
                             choices=[{"number": 3, "action": "receive", "funding": pledges["foundation"].pk}])
    assert refused.value.code == "import_amount_mismatch" and "Line 3" in refused.value.message
    assert books(collective) == before and FundingImport.objects.get().status == "preview"


def test_one_pledge_chosen_for_two_lines_is_refused(collective, coordinator, budget, pledges):
    funding_import = preview(collective, coordinator, budget, "liberapay", "liberapay_donations.csv")
    pledge = funding_create(budget=budget, actor=coordinator, source="Ada", amount="12.00")
    with pytest.raises(DomainError):
        funding_import_choose(funding_import=funding_import, actor=coordinator, choices=[
            {"number": 2, "action": "receive", "funding": pledge.pk},
            {"number": 4, "action": "receive", "funding": pledge.pk}])


def test_a_line_in_another_currency_is_kept_with_a_message_and_may_only_be_skipped(collective, coordinator, budget):
    text = "id,date,donor,amount,currency\n1,2025-03-01,ada,12.00,EUR\n2,2025-03-02,bob,10.00,USD\n"
    funding_import = funding_import_preview(collective=collective, actor=coordinator, fmt="liberapay", text=text,
                                            budget=budget)
    euro, dollar = lines_of(funding_import)
    assert (euro.proposed_action, euro.problem) == ("create", "")
    assert dollar.proposed_action == "skip" and "USD" in dollar.problem and "EUR" in dollar.problem
    with pytest.raises(DomainError) as refused:
        funding_import_apply(funding_import=funding_import, actor=coordinator,
                             choices=[{"number": 3, "action": "create", "budget": budget.pk}])
    assert refused.value.code == "import_line_refused"
    applied = funding_import_apply(funding_import=funding_import, actor=coordinator)
    assert applied.summary["skipped"] == {"count": 1, "total": "10.00"}


def test_only_coordinators_import(collective, budget, member, accountant, outsider):
    for person in (member, accountant, outsider):
        with pytest.raises(Forbidden):
            preview(collective, person, budget)


def test_control_characters_in_a_payer_name_become_spaces():
    text = "date,donor,amount,currency\n2025-03-01,\"Ada\x07\u202e Love\",1.00,EUR\n"
    lines = incoming_lines(fmt="liberapay", text=text)
    assert lines[0].payer == "Ada Love"
