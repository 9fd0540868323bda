"""The notifications API under /api/v1/me/ and /api/v1/collectives/<slug>/reminders/, and the pages: the inbox,
opening a notification, the bell in the top bar, the reminders' settings."""

import re

import pytest

from members.models import AuditEvent
from members.notifications.kinds import all_kinds
from members.notifications.models import Notification, NotificationPreference, ReminderSettings

from .support import declare, make_budget, page_client, paris, question, questioned, round_opened

pytestmark = pytest.mark.django_db

ME = "/api/v1/me/"
INBOX = "/api/v1/me/notifications/"
SETTINGS = "/api/v1/me/notification-settings/"


def reminders_url(collective):
    return f"/api/v1/collectives/{collective.slug}/reminders/"


@pytest.fixture
def declaration(collective, member):
    return declare(collective, member, make_budget(collective))


@pytest.fixture
def three(collective, coordinator, member, declaration):
    """Three questions on Bob's declaration, the newest last, on two days."""
    ids = []
    for n, moment in enumerate((paris(2025, 6, 9, 10, 0), paris(2025, 6, 10, 9, 0), paris(2025, 6, 10, 11, 0))):
        question(declaration, coordinator, comment=f"Question {n}")
        notification = Notification.objects.filter(recipient=member).order_by("-id").first()
        Notification.objects.filter(pk=notification.pk).update(created_at=moment)
        ids.append(notification.pk)
    return ids


# --- the inbox -----------------------------------------------------------------------------------------------------


def test_my_notifications_newest_first_with_the_contracts_fields(api, member, collective, declaration, three):
    response = api(member).get(INBOX, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 3
    assert [item["id"] for item in body["results"]] == list(reversed(three))
    item = body["results"][0]
    assert set(item) == {"id", "kind", "collective", "text", "url", "created_at", "read_at"}
    assert item["kind"] == "contribution.questioned"
    assert item["collective"] == {"slug": "la-fabrique", "name": "La Fabrique"}
    assert item["text"] == "Alice questioned your declaration “Permanence”: Question 2"
    assert item["url"] == f"/c/la-fabrique/contributions/{declaration.pk}/"
    assert item["read_at"] is None
    assert item["created_at"].startswith("2025-06-10T11:00:00")


def test_my_notifications_are_paginated(api, member, three):
    first = api(member).get(INBOX, {"page_size": 2}).json()
    assert first["count"] == 3 and len(first["results"]) == 2 and first["previous"] is None
    assert first["next"] is not None
    second = api(member).get(first["next"]).json()
    assert [item["id"] for item in second["results"]] == [three[0]]
    assert second["next"] is None


def test_only_unread_with_unread_1(api, member, three):
    api(member).post(f"{INBOX}{three[1]}/read/")
    unread = api(member).get(INBOX, {"unread": "1"}).json()
    assert [item["id"] for item in unread["results"]] == [three[2], three[0]]
    everything = api(member).get(INBOX).json()
    assert everything["count"] == 3


def test_nobody_sees_anothers_notifications(api, coordinator, member, outsider, three):
    assert api(coordinator).get(INBOX).json()["count"] == 0
    assert api(outsider).get(INBOX).json()["count"] == 0


def test_notifications_hidden_from_the_app_are_not_listed(api, collective, member):
    NotificationPreference.objects.create(user=member, kind="round.opened", email="daily", in_app=False)
    round_opened(collective, member)
    questioned(collective, member)
    assert [item["kind"] for item in api(member).get(INBOX).json()["results"]] == ["contribution.questioned"]


def test_marking_one_read(api, member, three):
    response = api(member).post(f"{INBOX}{three[0]}/read/")
    assert response.status_code == 200
    assert response.json()["id"] == three[0] and response.json()["read_at"] is not None
    first_reading = Notification.objects.get(pk=three[0]).read_at
    assert first_reading is not None
    again = api(member).post(f"{INBOX}{three[0]}/read/")
    assert again.status_code == 200
    assert Notification.objects.get(pk=three[0]).read_at == first_reading
    assert Notification.objects.filter(pk__in=three[1:], read_at__isnull=True).count() == 2


def test_anothers_notification_is_404_and_stays_unread(api, coordinator, outsider, member, three):
    for someone in (coordinator, outsider):
        response = api(someone).post(f"{INBOX}{three[0]}/read/")
        assert response.status_code == 404
        assert set(response.json()) == {"detail", "code", "fields"}
    assert api(member).post(f"{INBOX}999999999/read/").status_code == 404
    assert Notification.objects.get(pk=three[0]).read_at is None


def test_marking_all_read_marks_only_mine(api, collective, coordinator, member, three):
    alices = questioned(collective, coordinator)
    response = api(member).post(f"{INBOX}read-all/")
    assert response.status_code == 200
    assert response.json() == {"marked": 3}
    assert Notification.objects.filter(recipient=member, read_at__isnull=True).count() == 0
    assert Notification.objects.get(pk=alices).read_at is None
    assert api(member).get(INBOX, {"unread": "1"}).json()["count"] == 0
    assert api(member).post(f"{INBOX}read-all/").json() == {"marked": 0}


@pytest.mark.parametrize(("method", "url"), [
    ("get", INBOX), ("post", f"{INBOX}1/read/"), ("post", f"{INBOX}read-all/"), ("get", SETTINGS),
    ("patch", SETTINGS), ("get", ME), ("patch", ME),
])
def test_the_me_api_needs_a_login(api, member, three, method, url):
    response = getattr(api(), method)(url, {}, format="json")
    assert response.status_code in (401, 403)
    assert Notification.objects.filter(read_at__isnull=False).count() == 0


# --- my notification settings --------------------------------------------------------------------------------------


def test_settings_show_every_kind_with_its_defaults(api, member):
    response = api(member).get(SETTINGS)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {kind.code for kind in all_kinds()}
    assert body["contribution.questioned"]["email"] == "instant"
    assert body["contribution.questioned"]["in_app"] is True
    assert body["round.opened"]["email"] == "daily"
    assert body["round.opened"]["in_app"] is True
    assert body["bucket.commented"]["email"] == "daily"
    assert all(set(row) == {"label", "email", "in_app"} and row["label"] for row in body.values())


def test_patching_settings_saves_them(api, member):
    response = api(member).patch(SETTINGS, {"contribution.questioned": {"email": "daily"},
                                            "round.opened": {"email": "off", "in_app": False}}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["contribution.questioned"] == {**response.json()["contribution.questioned"],
                                                          "email": "daily", "in_app": True}
    again = api(member).get(SETTINGS).json()
    assert (again["round.opened"]["email"], again["round.opened"]["in_app"]) == ("off", False)
    assert again["contribution.validated"]["email"] == "instant"
    stored = NotificationPreference.objects.get(user=member, kind="contribution.questioned")
    assert (stored.email, stored.in_app) == ("daily", True)


def test_settings_decide_how_the_next_notifications_come(api, collective, coordinator, member, declaration,
                                                         mailoutbox, django_capture_on_commit_callbacks):
    api(member).patch(SETTINGS, {"contribution.questioned": {"email": "off", "in_app": False}}, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        question(declaration, coordinator)
    assert not Notification.objects.filter(recipient=member).exists()
    assert mailoutbox == []

    api(member).patch(SETTINGS, {"contribution.questioned": {"email": "daily", "in_app": True}}, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        question(declaration, coordinator)
    assert mailoutbox == []
    assert Notification.objects.get(recipient=member).email == "daily"


@pytest.mark.parametrize(("change", "field"), [
    ({"contribution.questioned": {"email": "weekly"}}, "contribution.questioned"),
    ({"contribution.questioned": {"in_app": "yes"}}, "contribution.questioned"),
    ({"contribution.questioned": {"sms": "instant"}}, "contribution.questioned"),
    ({"contribution.questioned": "off"}, "contribution.questioned"),
    ({"no.such.kind": {"email": "off"}}, "no.such.kind"),
    # One bad entry spoils the whole change: the good one is not saved either.
    ({"round.opened": {"email": "off"}, "no.such.kind": {"email": "off"}}, "no.such.kind"),
    ({"round.opened": {"email": "off"}, "contribution.questioned": {"email": "never"}}, "contribution.questioned"),
])
def test_a_bad_settings_change_is_400_naming_the_field_and_saves_nothing(api, member, change, field):
    response = api(member).patch(SETTINGS, change, format="json")
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"detail", "code", "fields"}
    assert field in body["fields"]
    assert not NotificationPreference.objects.filter(user=member).exists()
    assert api(member).get(SETTINGS).json()["round.opened"]["email"] == "daily"


def test_a_settings_change_that_is_not_an_object_is_400(api, member):
    response = api(member).patch(SETTINGS, "off", format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"detail", "code", "fields"}
    assert not NotificationPreference.objects.filter(user=member).exists()


# --- me: the language of my emails ---------------------------------------------------------------------------------


def test_me_shows_and_changes_the_language_of_my_emails(api, member):
    me = api(member).get(ME)
    assert me.status_code == 200
    assert me.json() == {"id": member.pk, "email": "bob@example.org", "name": "Bob", "language": ""}

    changed = api(member).patch(ME, {"language": "en"}, format="json")
    assert changed.status_code == 200 and changed.json()["language"] == "en"
    member.refresh_from_db()
    assert member.language == "en"

    back = api(member).patch(ME, {"language": ""}, format="json")
    assert back.json()["language"] == ""
    member.refresh_from_db()
    assert member.language == ""


def test_an_unknown_language_is_400_and_changes_nothing(api, member):
    member.language = "en"
    member.save(update_fields=["language"])
    response = api(member).patch(ME, {"language": "de"}, format="json")
    assert response.status_code == 400
    assert "language" in response.json()["fields"]
    member.refresh_from_db()
    assert member.language == "en"


def test_me_cannot_change_email_or_name(api, member):
    api(member).patch(ME, {"email": "mallory@example.org", "name": "Mallory"}, format="json")
    member.refresh_from_db()
    assert (member.email, member.name) == ("bob@example.org", "Bob")


# --- the collective's reminders ------------------------------------------------------------------------------------


DEFAULTS = {"declare_enabled": True, "declare_days_before": 2, "review_enabled": True, "review_after_days": 3,
            "wallet_enabled": True, "lock_enabled": True}


def test_members_read_the_reminders(api, collective, member, accountant):
    for someone in (member, accountant):
        response = api(someone).get(reminders_url(collective))
        assert response.status_code == 200
        assert response.json() == DEFAULTS


def test_coordinators_change_the_reminders(api, collective, coordinator, member):
    response = api(coordinator).patch(reminders_url(collective), {"review_enabled": False, "declare_days_before": 5},
                                      format="json")
    assert response.status_code == 200, response.json()
    assert response.json() == {**DEFAULTS, "review_enabled": False, "declare_days_before": 5}
    stored = ReminderSettings.objects.get(collective=collective)
    assert (stored.review_enabled, stored.declare_days_before, stored.wallet_enabled) == (False, 5, True)
    assert api(member).get(reminders_url(collective)).json()["declare_days_before"] == 5
    event = AuditEvent.objects.get(action="notifications.reminders_updated")
    assert event.actor == coordinator


def test_a_member_who_is_not_coordinator_cannot_change_the_reminders(api, collective, member, accountant):
    for someone in (member, accountant):
        response = api(someone).patch(reminders_url(collective), {"declare_enabled": False}, format="json")
        assert response.status_code == 403
    assert not ReminderSettings.objects.filter(collective=collective).exists()


def test_an_outsider_gets_404_on_the_reminders(api, collective, outsider):
    assert api(outsider).get(reminders_url(collective)).status_code == 404
    assert api(outsider).patch(reminders_url(collective), {"declare_enabled": False}, format="json").status_code == 404
    assert api().get(reminders_url(collective)).status_code in (401, 403)
    assert not ReminderSettings.objects.filter(collective=collective).exists()


@pytest.mark.parametrize(("change", "field"), [
    ({"declare_days_before": 99}, "declare_days_before"),
    ({"declare_days_before": -1}, "declare_days_before"),
    ({"review_after_days": 0}, "review_after_days"),
    ({"wallet_enabled": "maybe"}, "wallet_enabled"),
])
def test_bad_reminder_settings_are_400_naming_the_field(api, collective, coordinator, change, field):
    response = api(coordinator).patch(reminders_url(collective), {"lock_enabled": False, **change}, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not ReminderSettings.objects.filter(collective=collective).exists()


# --- pages: the inbox, opening one, the bell -----------------------------------------------------------------------


def test_the_inbox_groups_notifications_by_day_newest_first(member, three):
    page = page_client(member).get("/notifications/")
    assert page.status_code == 200
    html = page.content.decode()
    days = re.findall(r'<time datetime="(\d{4}-\d{2}-\d{2})">', html)
    assert days == ["2025-06-10", "2025-06-09"]
    assert html.count('class="card notification-day"') == 2
    positions = [html.index(f"Question {n}") for n in (2, 1, 0)]
    assert positions == sorted(positions)
    assert "Alice questioned your declaration “Permanence”: Question 2" in html.replace("&quot;", '"')
    for notification_id in three:
        assert f'href="/notifications/{notification_id}/"' in html


def test_the_inbox_shows_only_mine(coordinator, member, three):
    html = page_client(coordinator).get("/notifications/").content.decode()
    assert "Question" not in html


def test_the_inbox_needs_a_login(three):
    response = page_client().get("/notifications/")
    assert response.status_code == 302 and "login" in response["Location"]


def test_mark_all_read_on_the_page(member, three):
    client = page_client(member)
    assert "Mark all read" in client.get("/notifications/").content.decode()
    response = client.post("/notifications/read-all/")
    assert response.status_code == 302 and response["Location"] == "/notifications/"
    assert Notification.objects.filter(recipient=member, read_at__isnull=True).count() == 0
    assert "Mark all read" not in client.get("/notifications/").content.decode()


def test_opening_a_notification_marks_it_read_and_leads_to_its_object(member, declaration, three):
    response = page_client(member).get(f"/notifications/{three[0]}/")
    assert response.status_code == 302
    assert response["Location"] == f"/c/la-fabrique/contributions/{declaration.pk}/"
    assert Notification.objects.get(pk=three[0]).read_at is not None
    assert Notification.objects.filter(pk__in=three[1:], read_at__isnull=True).count() == 2


def test_opening_someone_elses_notification_is_404(coordinator, outsider, member, three):
    for someone in (coordinator, outsider):
        assert page_client(someone).get(f"/notifications/{three[0]}/").status_code == 404
    assert Notification.objects.get(pk=three[0]).read_at is None


def test_the_bell_shows_the_unread_count_in_the_top_bar_of_every_page(collective, member, three):
    client = page_client(member)
    for url in ("/", f"/c/{collective.slug}/", "/settings/"):
        html = client.get(url).content.decode()
        bell = re.search(r'<a [^>]*id="notification-bell".*?</a>', html, re.S)
        assert bell, url
        assert '<span class="bell-count" aria-hidden="true">3</span>' in bell.group(0), url
    client.get(f"/notifications/{three[0]}/")
    Notification.objects.filter(pk=three[1]).update(read_at=paris(2025, 6, 11, 8, 0))
    html = client.get("/").content.decode()
    assert '<span class="bell-count" aria-hidden="true">1</span>' in html
    client.post("/notifications/read-all/")
    html = client.get("/").content.decode()
    assert 'id="notification-bell"' in html and "bell-count" not in html


def test_no_bell_for_visitors(db):
    assert 'id="notification-bell"' not in page_client().get("/accounts/login/").content.decode()


def test_the_inbox_costs_as_many_queries_for_many_notifications_as_for_few(
        collective, coordinator, member, declaration, django_assert_max_num_queries):
    question(declaration, coordinator)
    client = page_client(member)
    client.get("/notifications/")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get("/notifications/")
    for n in range(30):
        questioned(collective, member, comment=f"Encore {n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/notifications/")


# --- the reminders page --------------------------------------------------------------------------------------------


def test_coordinators_set_the_reminders_on_their_page(collective, coordinator):
    client = page_client(coordinator)
    url = f"/c/{collective.slug}/settings/reminders/"
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="declare_days_before"' in page.content.decode()
    saved = client.post(url, {"declare_enabled": "on", "declare_days_before": "4", "review_after_days": "3",
                              "wallet_enabled": "on", "lock_enabled": "on"})
    assert saved.status_code == 302
    stored = ReminderSettings.objects.get(collective=collective)
    assert (stored.declare_days_before, stored.review_enabled, stored.lock_enabled) == (4, False, True)

    refused = client.post(url, {"declare_days_before": "99", "review_after_days": "3"})
    assert refused.status_code == 400
    assert ReminderSettings.objects.get(collective=collective).declare_days_before == 4


def test_the_reminders_page_is_for_coordinators(collective, member, outsider):
    url = f"/c/{collective.slug}/settings/reminders/"
    assert page_client(member).get(url).status_code == 403
    assert page_client(member).post(url, {"declare_days_before": "1", "review_after_days": "1"}).status_code == 403
    assert page_client(outsider).get(url).status_code == 404
    assert not ReminderSettings.objects.filter(collective=collective).exists()


def test_my_settings_page_saves_my_settings(member):
    from members.notifications.selectors import preferences_of

    client = page_client(member)
    assert client.get("/notifications/settings/").status_code == 200
    data = {"language": "en"}
    for code, (email, in_app) in preferences_of(member).items():
        data[f"email:{code}"] = "daily" if code == "contribution.questioned" else email
        if in_app:
            data[f"in_app:{code}"] = "on"
    assert client.post("/notifications/settings/", data).status_code == 302
    member.refresh_from_db()
    assert member.language == "en"
    assert preferences_of(member)["contribution.questioned"] == ("daily", True)
    assert page_client().get("/notifications/settings/").status_code == 302
