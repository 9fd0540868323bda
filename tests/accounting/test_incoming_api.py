"""The API of incoming money: upload for a preview, read it, apply it; who may do what."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounting.models import FundingImport
from budgets.fundings import funding_create
from budgets.models import Funding

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data"


def url(collective, rest: str = "") -> str:
    return f"/api/v1/collectives/{collective.slug}/fundings/imports/{rest}"


def upload(client, collective, budget=None, name="helloasso_payments.csv", fmt="helloasso", content=None):
    data = {"file": SimpleUploadedFile(name, content if content is not None else (DATA / name).read_bytes(),
                                       content_type="text/csv"), "format": fmt}
    if budget is not None:
        data["budget"] = budget.pk
    return client.post(url(collective), data, format="multipart")


def test_a_coordinator_previews_changes_a_line_and_applies(collective, coordinator, budget, api):
    pledge = funding_create(budget=budget, actor=coordinator, source="Marie Dupont", amount="50.00")
    client = api(coordinator)
    response = upload(client, collective, budget)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["format"], body["status"], body["line_count"], body["summary"]) == ("helloasso", "preview", 3, {})
    assert [(line["number"], line["action"], line["funding"], line["budget"], line["duplicate"])
            for line in body["lines"]] == [(2, "receive", pledge.pk, budget.pk, False),
                                           (3, "create", None, budget.pk, False),
                                           (5, "create", None, budget.pk, False)]
    assert body["lines"][0]["amount"] == "50.00" and body["lines"][0]["day"] == "2025-03-15"
    assert body["lines"][0]["payer"] == "Marie Dupont"
    assert client.get(url(collective, f"{body['id']}/")).json()["lines"] == body["lines"]
    applied = client.post(url(collective, f"{body['id']}/apply/"), {"lines": [{"number": 5, "action": "skip"}]},
                          format="json")
    assert applied.status_code == 200, applied.json()
    summary = applied.json()["summary"]
    assert (summary["received"], summary["created"], summary["skipped"]) == (
        {"count": 1, "total": "50.00"}, {"count": 1, "total": "25.00"}, {"count": 1, "total": "120.00"})
    assert Funding.objects.get(pk=pledge.pk).status == "received"
    again = client.post(url(collective, f"{body['id']}/apply/"), {}, format="json")
    assert again.status_code == 200 and again.json()["summary"] == summary
    assert Funding.objects.filter(collective=collective).count() == 2


@pytest.mark.parametrize("content, fmt, field", [
    (b"Date;Montant\n15/03/2025;abc\n", "helloasso", "file"),
    (b"\x00\x01\x02binary\xff\xfe", "helloasso", "file"),
    ((DATA / "helloasso_payments.csv").read_bytes(), "paypal", "format"),
    (b"", "helloasso", "file"),
])
def test_a_bad_file_or_format_answers_400_and_saves_nothing(collective, coordinator, budget, api, content, fmt,
                                                             field):
    response = upload(api(coordinator), collective, budget, content=content, fmt=fmt)
    assert response.status_code == 400, response.content
    assert set(response.json()) == {"detail", "code", "fields"} and field in response.json()["fields"]
    assert not FundingImport.objects.exists()


def test_an_amount_mismatch_answers_400_naming_the_line(collective, coordinator, budget, api):
    other = funding_create(budget=budget, actor=coordinator, source="Mairie", amount="99.00")
    client = api(coordinator)
    import_id = upload(client, collective, budget).json()["id"]
    response = client.post(url(collective, f"{import_id}/apply/"),
                           {"lines": [{"number": 2, "action": "receive", "funding": other.pk}]}, format="json",
                           HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and response.json()["code"] == "import_amount_mismatch"
    assert "Line 2" in response.json()["fields"]["lines"][0]
    assert FundingImport.objects.get().status == "preview"


def test_a_member_gets_403_an_accountant_reads_only_and_an_outsider_gets_404(
        collective, coordinator, member, accountant, outsider, budget, api):
    import_id = upload(api(coordinator), collective, budget).json()["id"]
    assert upload(api(member), collective, budget).status_code == 403
    assert api(member).get(url(collective, f"{import_id}/")).status_code == 403
    assert api(member).post(url(collective, f"{import_id}/apply/"), {}, format="json").status_code == 403
    assert api(accountant).get(url(collective, f"{import_id}/")).status_code == 200
    assert api(accountant).post(url(collective, f"{import_id}/apply/"), {}, format="json").status_code == 403
    assert upload(api(outsider), collective, budget).status_code == 404
    assert api(outsider).get(url(collective, f"{import_id}/")).status_code == 404
    assert api(outsider).post(url(collective, f"{import_id}/apply/"), {}, format="json").status_code == 404
    assert FundingImport.objects.get().status == "preview"
