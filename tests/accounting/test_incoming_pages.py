"""The pages of incoming money: upload, save a page's choices, confirm; who may see and do what."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accounting.models import FundingImport, FundingImportLine
from budgets.models import Funding

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def upload(client, collective, budget):
    sample = SimpleUploadedFile("liberapay.csv", (DATA / "liberapay_donations.csv").read_bytes())
    return client.post(f"/c/{collective.slug}/fundings/import/",
                       {"file": sample, "format": "liberapay", "budget": budget.pk})


def test_a_coordinator_uploads_saves_choices_then_confirms(collective, coordinator, budget):
    client = client_for(coordinator)
    response = upload(client, collective, budget)
    funding_import = FundingImport.objects.get()
    assert response.status_code == 302 and response.url.endswith(f"/fundings/import/{funding_import.pk}/")
    page = client.get(response.url)
    assert page.status_code == 200 and b'name="action-3"' in page.content
    client.post(response.url, {"line": ["2", "3"], "action-2": "skip", "action-3": "create",
                               "budget-3": str(budget.pk), "save": "1"})
    assert FundingImportLine.objects.get(number=2).chosen_action == "skip"
    assert Funding.objects.count() == 0
    client.post(response.url, {"line": ["4"], "action-4": "skip", "apply": "1"})
    funding_import.refresh_from_db()
    assert funding_import.status == "applied"
    assert list(Funding.objects.values_list("source", "amount")) == [("grace-h", 5)]
    summary = client.get(response.url)
    assert b'id="summary"' in summary.content and b'name="action-3"' not in summary.content


def test_a_refused_choice_is_shown_and_nothing_is_written(collective, coordinator, budget):
    client = client_for(coordinator)
    url = upload(client, collective, budget).url
    response = client.post(url, {"line": ["2"], "action-2": "receive", "apply": "1"}, follow=True,
                           HTTP_ACCEPT_LANGUAGE="en")
    assert "Line 2" in response.content.decode() and Funding.objects.count() == 0
    assert FundingImport.objects.get().status == "preview"


def test_a_bad_file_is_shown_on_the_form(collective, coordinator, budget):
    sample = SimpleUploadedFile("x.csv", b"nothing;here\n1;2\n")
    response = client_for(coordinator).post(f"/c/{collective.slug}/fundings/import/",
                                            {"file": sample, "format": "helloasso", "budget": budget.pk},
                                            HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200 and "columns found" in response.content.decode()
    assert not FundingImport.objects.exists()


def test_members_get_403_accountants_read_and_outsiders_get_404(collective, coordinator, member, accountant,
                                                                 outsider, budget):
    url = upload(client_for(coordinator), collective, budget).url
    assert client_for(member).get(f"/c/{collective.slug}/fundings/import/").status_code == 403
    assert client_for(member).get(url).status_code == 403
    assert client_for(accountant).get(f"/c/{collective.slug}/fundings/import/").status_code == 403
    read = client_for(accountant).get(url)
    assert read.status_code == 200 and b'name="action-2"' not in read.content
    assert client_for(accountant).post(url, {"line": ["2"], "apply": "1"}).status_code == 403
    assert client_for(outsider).get(url).status_code == 404
    assert FundingImport.objects.get().status == "preview"


def test_the_budgets_list_and_the_accounting_page_link_to_the_import(collective, coordinator):
    client = client_for(coordinator)
    link = f'href="/c/{collective.slug}/fundings/import/"'.encode()
    assert link in client.get(f"/c/{collective.slug}/budgets/").content
    assert link in client.get(f"/c/{collective.slug}/accounting/").content
