import io
from datetime import date
from decimal import Decimal

import pytest
from pypdf import PdfReader

from accounting.documents import period_statement_data, render_pdf
from accounting.models import IssuedDocument
from contributions.models import Contribution
from members.models import Membership

from .conftest import declare

pytestmark = pytest.mark.django_db


def pdf_text(content: bytes) -> str:
    """The PDF's text, whitespace (line wraps, narrow no-break spaces) normalised to single spaces."""
    reader = PdfReader(io.BytesIO(content))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())




@pytest.fixture
def statement_period(closed_period, contributor, member):
    declare(closed_period, contributor, "1200.00", "900.00", "Animation des ateliers", paid_on=date(2025, 4, 10))
    declare(closed_period, member, "800.00", "600.00", "Comptabilité du tiers-lieu")
    return closed_period


def test_period_statement_shows_names_and_totals_and_rebuilds_identically(statement_period, coordinator, api):
    collective = statement_period.collective
    url = f"/api/v1/collectives/{collective.slug}/periods/{statement_period.pk}/statement.pdf"
    response = api(coordinator).get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    for expected in ("La Fabrique", "Tiers-lieu 2025", "David Martin", "Bob", "Animation des ateliers", "EUR", "€"):
        assert expected in text, expected
    assert "1 500,00" in text and "2 000,00" in text  # available and requested in total, French locale
    assert "Page 1 / 1" in text
    document = IssuedDocument.objects.get()
    again = api(coordinator).get(f"/api/v1/collectives/{collective.slug}/periods/{statement_period.pk}/statement.pdf")
    assert IssuedDocument.objects.count() == 1 and again["X-Document-Id"] == str(document.pk)
    rebuilt = api(coordinator).get(f"/api/v1/collectives/{collective.slug}/documents/{document.pk}.pdf")
    assert pdf_text(rebuilt.content) == pdf_text(again.content) == text


def test_period_statement_says_which_decision_the_coordinators_took_in_french_and_english(statement_period,
                                                                                          coordinator):
    from accounting import services

    collective = statement_period.collective
    statement_period.decision = {"kind": "amounts", "amounts": {}, "note": "Priorité à l'accueil"}
    statement_period.save(update_fields=["decision"])
    data = period_statement_data(statement_period)
    french = services.document_issue(collective=collective, actor=coordinator, kind="period_statement",
                                     subject=f"period:{statement_period.pk}", data=data)
    text = pdf_text(render_pdf(french))
    assert "un montant fixé pour chaque déclaration. « Priorité à l'accueil »" in text
    assert "Total (2 déclarations) 2 000,00 € 1 500,00 €" in text
    assert "Budget : Tiers-lieu 2025" in text and "Argent disponible : 1 500,00 €" in text
    raw = PdfReader(io.BytesIO(render_pdf(french))).pages[0].extract_text()
    assert "Budget\u202f:" in raw
    collective.locale = "en"
    collective.save(update_fields=["locale"])
    data["collective"]["locale"] = "en"
    english = services.document_issue(collective=collective, actor=coordinator, kind="period_statement",
                                      subject=f"period:{statement_period.pk}", data=data)
    text = pdf_text(render_pdf(english))
    assert "an amount set for each declaration. “Priorité à l'accueil”" in text
    assert "Total (2 declarations) €2,000.00 €1,500.00" in text and "Page 1 / 1" in text
    assert "Budget: Tiers-lieu 2025" in text and "Available money: €1,500.00" in text


def test_a_document_is_rebuilt_from_its_frozen_data_even_after_changes(statement_period, coordinator):
    from accounting import services

    collective = statement_period.collective
    document = services.document_issue(collective=collective, actor=coordinator, kind="period_statement",
                                       subject=f"period:{statement_period.pk}",
                                       data=period_statement_data(statement_period))
    before = pdf_text(render_pdf(document))
    Contribution.objects.filter(period=statement_period).update(description="Changed afterwards")
    assert pdf_text(render_pdf(IssuedDocument.objects.get(pk=document.pk))) == before
    newer = services.document_issue(collective=collective, actor=coordinator, kind="period_statement",
                                    subject=f"period:{statement_period.pk}",
                                    data=period_statement_data(statement_period))
    assert newer.pk != document.pk and "Changed afterwards" in pdf_text(render_pdf(newer))


def test_personal_statement_in_english_for_an_english_collective(statement_period, contributor, accountant, api):
    collective = statement_period.collective
    collective.locale = "en"
    collective.save()
    membership = Membership.objects.get(collective=collective, user=contributor)
    response = api(accountant).get(f"/api/v1/collectives/{collective.slug}/members/{membership.pk}/statement.pdf",
                                   {"year": 2025})
    assert response.status_code == 200
    text = pdf_text(response.content)
    for expected in ("Personal statement 2025", "David Martin", "Tiers-lieu 2025", "1,200.00", "900.00", "Page 1 / 1"):
        assert expected in text, expected


def test_a_person_reads_their_own_statement_but_not_someone_elses(statement_period, contributor, member, outsider,
                                                                  api):
    collective = statement_period.collective
    mine = Membership.objects.get(collective=collective, user=contributor)
    theirs = Membership.objects.get(collective=collective, user=member)
    base = f"/api/v1/collectives/{collective.slug}/members"
    assert api(contributor).get(f"{base}/{mine.pk}/statement.pdf?year=2025").status_code == 200
    assert api(contributor).get(f"{base}/{theirs.pk}/statement.pdf?year=2025").status_code == 403
    assert api(outsider).get(f"{base}/{mine.pk}/statement.pdf?year=2025").status_code == 404
    assert api(contributor).get(f"{base}/{mine.pk}/statement.pdf?year=next").status_code == 400


def test_a_personal_statement_covers_a_range_of_dates_instead_of_a_year(statement_period, contributor, accountant,
                                                                        api):
    collective = statement_period.collective
    membership = Membership.objects.get(collective=collective, user=contributor)
    url = f"/api/v1/collectives/{collective.slug}/members/{membership.pk}/statement.pdf"
    inside = api(accountant).get(url, {"from": "2025-01-01", "to": "2025-01-31"})
    assert inside.status_code == 200
    text = pdf_text(inside.content)
    assert "Relevé personnel du 1 janvier 2025 au 31 janvier 2025" in text and "1 200,00" in text
    outside = pdf_text(api(accountant).get(url, {"from": "2025-02-01", "to": "2025-12-31"}).content)
    assert "Aucune contribution sur cette période." in outside and "1 200,00" not in outside
    for query in ({"from": "2025-02-01"}, {"from": "2025-03-01", "to": "2025-02-01"}, {"from": "x", "to": "y"}):
        response = api(accountant).get(url, query)
        assert response.status_code == 400 and response.json()["code"] == "invalid", query


def test_statements_leave_rejected_declarations_out_of_the_requested_totals(statement_period, contributor):
    from accounting.documents import personal_statement_data
    from contributions.models import Contribution, ContributionStatus
    from members.models import Membership

    Contribution.objects.create(
        collective=statement_period.collective, author=contributor, budget=statement_period.budget,
        period=statement_period, performed_on=statement_period.starts_on, description="Hors sujet",
        amount=Decimal("5000.00"), status=ContributionStatus.REJECTED, value_mode="self_assessed",
    )
    data = period_statement_data(statement_period)
    assert data["totals"] == {"requested": "2000.00", "granted": "1500.00", "count": 2, "rejected": 1,
                              "withdrawn": 0}
    assert len(data["declarations"]) == 3
    membership = Membership.objects.of(statement_period.collective).get(user=contributor)
    personal = personal_statement_data(membership, 2025)
    assert personal["totals"]["requested"] == "1200.00" and personal["totals"]["count"] == 1


def test_repeated_gets_of_a_statement_write_nothing_and_an_open_period_has_none(statement_period, coordinator,
                                                                                 api):
    from budgets.models import PeriodStatus
    from members.models import AuditEvent

    url = f"/api/v1/collectives/{statement_period.collective.slug}/periods/{statement_period.pk}/statement.pdf"
    assert api(coordinator).get(url).status_code == 200
    documents, audits = IssuedDocument.objects.count(), AuditEvent.objects.count()
    for _ in range(3):
        assert api(coordinator).get(url).status_code == 200
    assert (IssuedDocument.objects.count(), AuditEvent.objects.count()) == (documents, audits) == (1, audits)
    statement_period.status = PeriodStatus.OPEN
    statement_period.save()
    refused = api(coordinator).get(url, HTTP_ACCEPT="application/json")
    assert refused.status_code == 409 and refused.json()["code"] == "period_not_closed"
    assert IssuedDocument.objects.count() == 1


@pytest.mark.parametrize("asked", [{"HTTP_ACCEPT": "application/pdf"}, {"data": {"format": "pdf"}}])
def test_a_refused_pdf_is_json_in_the_error_shape_and_says_so(closed_period, coordinator, api, asked):
    from budgets.models import PeriodStatus

    closed_period.status = PeriodStatus.OPEN
    closed_period.save()
    url = f"/api/v1/collectives/{closed_period.collective.slug}/periods/{closed_period.pk}/statement.pdf"
    refused = api(coordinator).get(url, **asked)
    assert refused.status_code == 409 and refused["Content-Type"] == "application/json"
    assert refused.json()["code"] == "period_not_closed"
