"""Attachments are served only to members of the collective, under names nobody can guess, and checked."""

import threading
import time
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client

from contrib_budget.errors import DomainError
from contributions import services
from contributions.models import ATTACHMENT_MAX_BYTES, Contribution
from contributions.services import _common, declaring
from tests.conftest import MONDAY
from tests.files import pdf_bytes, png_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def client_for(user) -> Client:
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return client


def form_data(budget, rate, **overrides):
    return {"description": "Accueil", "performed_on": str(MONDAY), "budget": budget.pk, "work": "",
            "hours": 2, "minutes": 0, "value_mode": "time_rate", "rate_level": rate.pk, **overrides}


def pdf(name="facture été.pdf", size=None):
    return SimpleUploadedFile(name, pdf_bytes() + b"%" * (size or 0), content_type="application/pdf")


def declare_with(member, collective, budget, rate, file):
    return client_for(member).post(f"/c/{collective.slug}/contributions/new/", form_data(budget, rate, attachment=file))


def test_a_member_downloads_the_attachment_under_its_original_name(member, plain_member, collective, budget, rate):
    assert declare_with(member, collective, budget, rate, pdf()).status_code == 302
    contribution = Contribution.objects.get()
    assert "facture" not in contribution.attachment.name
    assert contribution.attachment.name.startswith(f"contributions/{collective.pk}/")
    address = f"/c/{collective.slug}/contributions/{contribution.pk}/attachment/"
    assert address in client_for(plain_member).get(f"/c/{collective.slug}/contributions/{contribution.pk}/").text
    response = client_for(plain_member).get(address)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert "facture" in response["Content-Disposition"]


def test_an_outsider_gets_404_for_the_attachment(member, outsider, collective, budget, rate):
    declare_with(member, collective, budget, rate, pdf())
    contribution = Contribution.objects.get()
    response = client_for(outsider).get(f"/c/{collective.slug}/contributions/{contribution.pk}/attachment/")
    assert response.status_code == 404


def test_the_api_gives_the_address_of_the_served_attachment(api, member, collective, budget, rate):
    response = api(member).post(f"/api/v1/collectives/{collective.slug}/contributions/", {
        "budget": budget.pk, "performed_on": str(MONDAY), "description": "Accueil", "minutes": 60,
        "rate_level": rate.pk, "attachment": pdf(),
    }, format="multipart")
    assert response.status_code == 201, response.json()
    contribution = Contribution.objects.get()
    assert response.json()["attachment"].endswith(f"/c/{collective.slug}/contributions/{contribution.pk}/attachment/")


@pytest.mark.parametrize("file", [
    SimpleUploadedFile("page.html", b"<script>alert(1)</script>", content_type="text/html"),
    SimpleUploadedFile("big.pdf", b"x" * (ATTACHMENT_MAX_BYTES + 1), content_type="application/pdf"),
], ids=["type", "size"])
def test_a_bad_attachment_is_refused_with_nothing_saved(api, member, collective, budget, rate, file):
    response = declare_with(member, collective, budget, rate, file)
    assert response.status_code == 400
    assert response.context["form"].errors["attachment"]
    file.seek(0)
    response = api(member).post(f"/api/v1/collectives/{collective.slug}/contributions/", {
        "budget": budget.pk, "performed_on": str(MONDAY), "description": "Accueil", "minutes": 60,
        "rate_level": rate.pk, "attachment": file,
    }, format="multipart")
    assert response.status_code == 400
    assert "attachment" in response.json()["fields"]
    assert not Contribution.objects.exists()


def test_the_service_refuses_a_bad_attachment_too(member, collective, budget, rate):
    declaration = services.Declaration(budget=budget, performed_on=MONDAY, description="Accueil", minutes=60,
                                       value_mode="time_rate", rate_level=rate)
    with pytest.raises(DomainError) as refused:
        services.contribution_declare(collective=collective, membership=member.memberships.get(collective=collective),
                                      declaration=declaration,
                                      attachment=SimpleUploadedFile("x.exe", b"MZ"))
    assert "attachment" in refused.value.fields
    assert not Contribution.objects.exists()


def test_amending_with_a_new_attachment_replaces_it(member, collective, budget, rate):
    declare_with(member, collective, budget, rate, pdf())
    contribution = Contribution.objects.get()
    response = client_for(member).post(f"/c/{collective.slug}/contributions/{contribution.pk}/amend/",
                                       form_data(budget, rate, attachment=SimpleUploadedFile(
                                           "ticket.png", png_bytes(), content_type="image/png")))
    assert response.status_code == 302
    contribution.refresh_from_db()
    assert contribution.attachment_name == "ticket.png"
    assert contribution.attachment.name.endswith(".png")


def blocked_by(pid: int) -> list[int]:
    """The database sessions waiting for a lock that session `pid` holds."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))", [pid])
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db(transaction=True)
def test_two_amends_moving_across_periods_in_opposite_directions_do_not_deadlock(
    member, collective, budget, rate, monkeypatch
):
    week_two = MONDAY + timedelta(days=7)
    membership = member.memberships.get(collective=collective)
    first, second = (
        services.contribution_declare(collective=collective, membership=membership, declaration=services.Declaration(
            budget=budget, performed_on=day, description="Accueil", minutes=60, value_mode="time_rate",
            rate_level=rate)) for day in (MONDAY, week_two)
    )
    # Both amends start together; the first to hold the period locks keeps them until the other is seen waiting for
    # them in the database, so the two transactions overlap. A barrier or a wait that times out fails its amend.
    barrier, started, holder = threading.Barrier(2), set(), {}
    holding, other_waits = threading.Event(), threading.Event()
    original_period_for_date, original_check = declaring.period_for_date, declaring.ensure_period_unlocked

    def start_together(**arguments):
        if threading.current_thread() not in started:
            started.add(threading.current_thread())
            barrier.wait(timeout=10)
        return original_period_for_date(**arguments)

    def hold_until_the_other_waits(period):
        first_to_hold = holder.setdefault("thread", threading.current_thread()) is threading.current_thread()
        if first_to_hold and not holding.is_set():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                holder["pid"] = cursor.fetchone()[0]
            holding.set()
            assert other_waits.wait(10), "the other amend never waited for the period locks"
        original_check(period)

    monkeypatch.setattr(declaring, "period_for_date", start_together)
    # Amending locks the declaration's period (services._common) and the period it moves to (declaring).
    for module in (declaring, _common):
        monkeypatch.setattr(module, "ensure_period_unlocked", hold_until_the_other_waits)
    errors = []

    def amend(contribution, day):
        try:
            services.contribution_amend(contribution=Contribution.objects.get(pk=contribution.pk), actor=member,
                                        changes={"performed_on": day})
        except Exception as error:  # noqa: BLE001 - the test reports any failure, a deadlock included
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=amend, args=(first, week_two)),
               threading.Thread(target=amend, args=(second, MONDAY))]
    for thread in threads:
        thread.start()
    assert holding.wait(15), errors
    for _ in range(100):
        if blocked_by(holder["pid"]):
            other_waits.set()
            break
        time.sleep(0.1)
    for thread in threads:
        thread.join(30)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    assert other_waits.is_set(), "the two amends never overlapped"
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.performed_on, second.performed_on) == (week_two, MONDAY)
