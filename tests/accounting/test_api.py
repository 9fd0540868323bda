from datetime import date

import pytest

from accounting.models import Export, ExportStatus
from budgets.models import Budget, Period
from cobudget.models import Round

pytestmark = pytest.mark.django_db


def url(collective, rest: str = "") -> str:
    return f"/api/v1/collectives/{collective.slug}/exports/{rest}"


def test_an_accountant_requests_an_export_and_follows_it_to_the_download(busy_collective, accountant, api,
                                                                         django_capture_on_commit_callbacks):
    client = api(accountant)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url(busy_collective), {"kind": "journal", "format": "csv", "from": "2000-01-01",
                                                      "to": "2100-12-31", "delimiter": ";"}, format="json")
    assert response.status_code == 202, response.json()
    export_id = response.json()["id"]
    body = client.get(url(busy_collective, f"{export_id}/")).json()
    assert body["status"] == "ready" and body["progress"] == 100 and body["kind"] == "journal"
    assert body["format"] == "csv" and body["row_count"] > 0 and body["created_at"]
    assert body["params"]["from"] == "2000-01-01" and body["params"]["delimiter"] == ";"
    assert body["download_url"].endswith(f"/exports/{export_id}/download/")
    download = client.get(body["download_url"])
    assert download.status_code == 200 and download["Content-Type"] == "text/csv; charset=utf-8"
    content = b"".join(download.streaming_content).decode("utf-8-sig")
    assert content.splitlines()[0].split(";")[6:8] == ["debit", "credit"]
    assert len(content.splitlines()) == body["row_count"] + 1
    listing = client.get(url(busy_collective)).json()
    assert listing["count"] == 1 and listing["results"][0]["id"] == export_id


def test_a_coordinator_sees_every_export_of_the_collective(collective, accountant, coordinator, api):
    api(accountant).post(url(collective), {"kind": "trial_balance", "format": "xlsx"}, format="json")
    listing = api(coordinator).get(url(collective)).json()
    assert [row["kind"] for row in listing["results"]] == ["trial_balance"]


def test_a_pending_export_has_no_download_url_and_cannot_be_downloaded(collective, accountant, api):
    client = api(accountant)
    export_id = client.post(url(collective), {"kind": "journal", "format": "xlsx"}, format="json").json()["id"]
    body = client.get(url(collective, f"{export_id}/")).json()
    assert body["status"] == ExportStatus.PENDING and body["download_url"] is None
    response = client.get(url(collective, f"{export_id}/download/"))
    assert response.status_code == 409 and response.json()["code"] == "export_not_ready"


def test_invalid_export_requests_answer_400_with_the_field(collective, accountant, api):
    response = api(accountant).post(url(collective), {"kind": "fec", "format": "csv"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "unsupported_format" and "format" in response.json()["fields"]
    response = api(accountant).post(url(collective), {"kind": "nope", "format": "csv"}, format="json")
    assert response.status_code == 400 and "kind" in response.json()["fields"]


def test_an_export_request_takes_its_filters_in_a_filters_object(collective, budget, accountant, api):
    response = api(accountant).post(url(collective), {
        "kind": "journal", "format": "csv", "from": "2025-01-01", "to": "2025-03-31",
        "filters": {"budget": budget.pk, "account_kinds": ["budget", "envelope"]},
    }, format="json")
    assert response.status_code == 202, response.json()
    body = response.json()
    assert (body["from"], body["to"], body["filters"]) == (
        "2025-01-01", "2025-03-31", {"budget": budget.pk, "account_kinds": ["budget", "envelope"]})
    assert Export.objects.get(pk=response.json()["id"]).params == {
        "from": "2025-01-01", "to": "2025-03-31", "delimiter": ",", "budget": budget.pk,
        "account_kinds": ["budget", "envelope"],
    }


def test_an_unknown_filter_or_a_bad_date_answers_400_with_the_error_shape(collective, accountant, api):
    client = api(accountant)
    for body, field in (
        ({"kind": "journal", "format": "csv", "filters": {"bugdet": 1}}, "filters"),
        ({"kind": "journal", "format": "csv", "from": "2025-02-30"}, "from"),
        ({"kind": "journal", "format": "csv", "from": "2025-06-01", "to": "2025-01-01"}, "to"),
    ):
        response = client.post(url(collective), body, format="json")
        assert response.status_code == 400, response.json()
        assert set(response.json()) == {"detail", "code", "fields"} and field in response.json()["fields"]
    assert not Export.objects.exists()


@pytest.fixture
def their_objects(outsider):
    """A budget, a period and a cobudget round of another collective, by filter name."""
    other = outsider.memberships.get().collective
    budget = Budget.objects.create(collective=other, name="Theirs", starts_on=date(2025, 1, 1))
    period = Period.objects.create(collective=other, budget=budget, index=0, starts_on=date(2025, 1, 1),
                                   ends_on=date(2025, 3, 31))
    round_ = Round.objects.create(collective=other, name="Theirs", created_by=outsider)
    return {"budget": budget.pk, "period": period.pk, "round": round_.pk}


@pytest.mark.parametrize("where", ["filters", "top level"])
def test_filters_naming_another_collectives_objects_are_refused_naming_the_field(where, collective, budget,
                                                                                  closed_period, accountant,
                                                                                  their_objects, api):
    client = api(accountant)
    nobody = {"budget": 2**62, "period": 999_999_999, "round": 2**70}
    for key in ("budget", "period", "round"):
        for value in (their_objects[key], nobody[key]):
            body = {"kind": "journal", "format": "csv",
                    **({"filters": {key: value}} if where == "filters" else {key: value})}
            response = client.post(url(collective), body, format="json")
            assert response.status_code == 400, (key, value, response.content)
            fields = response.json()["fields"]
            named = fields["filters"][key] if where == "filters" else fields[key]
            assert named and response.json()["code"] == "invalid_filter", (key, fields)
    assert not Export.objects.exists()
    ours = {"budget": budget.pk, "period": closed_period.pk}
    response = client.post(url(collective), {"kind": "journal", "format": "csv", "filters": ours}, format="json")
    assert response.status_code == 202, response.json()


def test_the_export_form_refuses_another_collectives_budget_or_round(client, collective, budget, accountant,
                                                                      their_objects):
    client.force_login(accountant)
    page = f"/c/{collective.slug}/accounting/exports/"
    for key in ("budget", "round"):
        response = client.post(page, {"kind": "journal", "format": "csv", key: their_objects[key]}, follow=True)
        errors = [str(message) for message in response.context["messages"] if message.level_tag == "error"]
        assert response.status_code == 200 and any(key in error for error in errors), (key, errors)
    assert not Export.objects.exists()
    client.post(page, {"kind": "journal", "format": "csv", "budget": budget.pk})
    assert Export.objects.get().params["budget"] == budget.pk


def test_members_get_403_and_outsiders_404_on_exports(collective, accountant, member, outsider, api):
    export_id = api(accountant).post(url(collective), {"kind": "journal", "format": "csv"}, format="json").json()["id"]
    for path in ("", f"{export_id}/", f"{export_id}/download/"):
        assert api(member).get(url(collective, path)).status_code == 403
        assert api(outsider).get(url(collective, path)).status_code == 404
    assert api(member).post(url(collective), {"kind": "journal", "format": "csv"}, format="json").status_code == 403
    assert api(outsider).post(url(collective), {"kind": "journal", "format": "csv"}, format="json").status_code == 404
    assert api().get(url(collective)).status_code in (401, 403)
    assert Export.objects.count() == 1


def test_an_export_of_another_collective_is_not_found(collective, accountant, outsider, api):
    export_id = api(accountant).post(url(collective), {"kind": "journal", "format": "csv"}, format="json").json()["id"]
    other = outsider.memberships.get().collective
    assert api(outsider).get(url(other, f"{export_id}/")).status_code == 404
    assert api(outsider).get(url(other, f"{export_id}/download/")).status_code == 404


def test_accounting_pages_are_for_accountants_and_coordinators(client, collective, accountant, coordinator, member,
                                                             outsider):
    for user, expected in ((accountant, 200), (coordinator, 200), (member, 403), (outsider, 404)):
        client.force_login(user)
        assert client.get(f"/c/{collective.slug}/accounting/").status_code == expected, user
        assert client.get(f"/c/{collective.slug}/accounting/chart/").status_code == expected, user


def test_the_accounting_page_shows_totals_that_tie_out(client, busy_collective, accountant,
                                                       django_assert_max_num_queries):
    client.force_login(accountant)
    with django_assert_max_num_queries(20):
        response = client.get(f"/c/{busy_collective.slug}/accounting/")
    content = response.content.decode()
    assert 'data-testid="balance-check"' in content and 'class="ok"' in content


def test_the_page_downloads_list_is_polled_and_the_download_checks_the_collective(client, busy_collective,
                                                                                  accountant, outsider,
                                                                                  django_capture_on_commit_callbacks):
    client.force_login(accountant)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/c/{busy_collective.slug}/accounting/exports/",
                               {"kind": "trial_balance", "format": "csv", "delimiter": ","})
    assert response.status_code == 302
    export = Export.objects.get()
    fragment = client.get(f"/c/{busy_collective.slug}/accounting/exports/list/").content.decode()
    assert f"/accounting/exports/{export.pk}/download/" in fragment
    download = client.get(f"/c/{busy_collective.slug}/accounting/exports/{export.pk}/download/")
    assert download.status_code == 200 and download["Content-Disposition"].startswith("attachment")
    client.force_login(outsider)
    assert client.get(f"/c/{busy_collective.slug}/accounting/exports/{export.pk}/download/").status_code == 404


def test_coordinators_and_accountants_edit_the_chart_of_accounts(client, collective, coordinator):
    client.force_login(coordinator)
    data = {}
    from accounting.chart import chart_of

    for kind, (number, label) in chart_of(collective).items():
        data[f"chart-number_{kind}"], data[f"chart-label_{kind}"] = number, label
    data["chart-number_paid"], data["chart-label_paid"] = "512000", "Banque"
    data.update({"settings-siren": "123456789", "settings-fiscal_year_start_month": "1",
                 "settings-journal_code": "BC", "settings-journal_label": "Budgets"})
    response = client.post(f"/c/{collective.slug}/accounting/chart/", data)
    assert response.status_code == 302
    assert chart_of(collective)["paid"] == ("512000", "Banque")


def test_the_page_links_each_closed_period_to_its_statement_and_serves_personal_ones(client, closed_period,
                                                                                    accountant, contributor):
    from members.models import Membership

    client.force_login(accountant)
    slug = closed_period.collective.slug
    content = client.get(f"/c/{slug}/accounting/").content.decode()
    assert f"/api/v1/collectives/{slug}/periods/{closed_period.pk}/statement.pdf" in content
    membership = Membership.objects.get(user=contributor)
    response = client.get(f"/c/{slug}/accounting/statements/person/", {"membership": membership.pk, "year": 2025})
    assert response.status_code == 302
    assert response["Location"] == f"/api/v1/collectives/{slug}/members/{membership.pk}/statement.pdf?year=2025"
    assert client.get(response["Location"])["Content-Type"] == "application/pdf"
