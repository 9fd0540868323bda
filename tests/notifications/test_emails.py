"""Notification emails: in the reader's language, with the collective's name, a link to the object and a signed
link to the settings; each sent once, retried when the mail server fails; daily digests once a day at 08:00."""

import smtplib
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.core import signing
from django.core.mail.backends.locmem import EmailBackend
from django.utils import translation

from members.notifications import emails, services, tasks
from members.notifications.kinds import notification_text
from members.notifications.models import DigestRun, Notification, NotificationPreference
from members.notifications.selectors import preferences_of
from tests.factories import CollectiveFactory, MembershipFactory, UserFactory

from .support import (
    NEW_YORK,
    QUESTION,
    declare,
    make_budget,
    page_client,
    paris,
    question,
    questioned,
    round_opened,
    settings_tokens,
)

pytestmark = pytest.mark.django_db

QUESTION_PARAMS = {"declaration": "Permanence", "name": "Alice", "comment": QUESTION}
ENGLISH = f"Alice questioned your declaration “Permanence”: {QUESTION}"


def sentence(language: str) -> str:
    with translation.override(language):
        return notification_text("contribution.questioned", QUESTION_PARAMS, "EUR")


# --- instant emails: language, subject, parts, links -------------------------------------------------------------


@pytest.mark.parametrize(("own_language", "collective_locale", "expected"), [
    ("", "fr", "fr"),     # no language of their own: the collective's
    ("en", "fr", "en"),   # their own language wins over the collective's
    ("", "en", "en"),
    ("fr", "en", "fr"),
])
def test_instant_email_is_in_the_recipients_language_else_the_collectives(
        collective, coordinator, member, mailoutbox, django_capture_on_commit_callbacks,
        own_language, collective_locale, expected):
    collective.locale = collective_locale
    collective.save(update_fields=["locale"])
    member.language = own_language
    member.save(update_fields=["language"])
    contribution = declare(collective, member, make_budget(collective))

    with django_capture_on_commit_callbacks(execute=True):
        question(contribution, coordinator)

    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    text = sentence(expected)
    assert message.subject == f"[La Fabrique] {text}"
    assert text in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert f'<html lang="{expected}">' in html
    assert "Alice" in html and "Permanence" in html
    if expected == "en":
        assert text == ENGLISH
    else:
        # The French email is in French, not left in the English of the source.
        assert text != ENGLISH, "the notification sentence has no French translation"
        assert ENGLISH not in message.body


def test_french_email_has_a_french_footer(collective, coordinator, member, mailoutbox,
                                          django_capture_on_commit_callbacks):
    contribution = declare(collective, member, make_budget(collective))
    with django_capture_on_commit_callbacks(execute=True):
        question(contribution, coordinator)
    body = mailoutbox[0].body
    assert "You get this email as a member of" not in body
    assert "Choose which emails you get" not in body
    assert "See it here" not in body


def test_instant_email_has_text_and_html_parts_a_link_to_the_object_and_a_signed_settings_link(
        collective, coordinator, member, mailoutbox, django_capture_on_commit_callbacks):
    member.language = "en"
    member.save(update_fields=["language"])
    contribution = declare(collective, member, make_budget(collective))

    with django_capture_on_commit_callbacks(execute=True):
        question(contribution, coordinator)

    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["bob@example.org"]
    assert message.subject.startswith("[La Fabrique] ")
    assert "Alice questioned your declaration “Permanence”" in message.subject
    link = f"{settings.SITE_URL.rstrip('/')}/c/la-fabrique/contributions/{contribution.pk}/"
    assert link in message.body
    html, _mimetype = message.alternatives[0]
    assert f'href="{link}"' in html

    tokens = settings_tokens(message.body)
    assert len(tokens) == 1
    assert settings_tokens(html) == tokens
    assert emails.user_from_settings_token(tokens[0]) == member
    assert tokens[0] in message.extra_headers["List-Unsubscribe"]


def test_nothing_is_emailed_to_the_person_who_acted(collective, coordinator, member, mailoutbox,
                                                    django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(collective=collective, kind="contribution.questioned", recipients=[member, coordinator],
                        actor=coordinator, params=QUESTION_PARAMS, url="/c/la-fabrique/contributions/1/")
    assert [m.to for m in mailoutbox] == [["bob@example.org"]]


# --- the signed settings link --------------------------------------------------------------------------------------


def settings_form(user, **changes) -> dict:
    """The settings form as the page would post it, with `changes` ({kind: (email, in_app)})."""
    data = {"language": user.language}
    for code, (email, in_app) in {**preferences_of(user), **changes}.items():
        data[f"email:{code}"] = email
        if in_app:
            data[f"in_app:{code}"] = "on"
    return data


def test_signed_settings_link_works_without_login_and_saves_the_settings(
        collective, coordinator, member, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        questioned(collective, member, actor=coordinator)
    token = settings_tokens(mailoutbox[0].body)[0]
    anonymous = page_client()
    url = f"/notifications/settings/{token}/"

    page = anonymous.get(url)
    assert page.status_code == 200
    assert "bob@example.org" in page.content.decode()
    assert 'data-kind="contribution.questioned"' in page.content.decode()

    saved = anonymous.post(url, settings_form(member, **{"contribution.questioned": ("off", True)}))
    assert saved.status_code == 302
    preference = NotificationPreference.objects.get(user=member, kind="contribution.questioned")
    assert (preference.email, preference.in_app) == ("off", True)

    # It takes effect: the next question reaches the inbox, not the mailbox.
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        questioned(collective, member, actor=coordinator)
    assert mailoutbox == []
    assert Notification.objects.filter(recipient=member).count() == 2


def test_signed_settings_link_can_stop_every_email(collective, member):
    token = emails.settings_token(member)
    response = page_client().post(f"/notifications/settings/{token}/", {"all_off": "1"})
    assert response.status_code == 302
    assert set(email for email, _in_app in preferences_of(member).values()) == {"off"}


def test_signed_settings_link_changes_only_its_own_persons_settings(collective, coordinator, member):
    client = page_client(coordinator)  # logged in as someone else
    token = emails.settings_token(member)
    client.post(f"/notifications/settings/{token}/", {"all_off": "1"})
    assert NotificationPreference.objects.filter(user=member).exists()
    assert not NotificationPreference.objects.filter(user=coordinator).exists()


def test_forged_or_damaged_settings_token_is_404(collective, member):
    good = emails.settings_token(member)
    forged = [
        good[:-1] + ("A" if good[-1] != "A" else "B"),            # damaged signature
        signing.dumps(member.pk),                                 # signed for another purpose (no salt)
        signing.dumps(member.pk, salt=emails.SETTINGS_SALT, key="not-the-secret-key"),
        "nothing-signed-here",
    ]
    anonymous = page_client()
    assert anonymous.get(f"/notifications/settings/{good}/").status_code == 200
    for token in forged:
        assert anonymous.get(f"/notifications/settings/{token}/").status_code == 404, token
        assert anonymous.post(f"/notifications/settings/{token}/", {"all_off": "1"}).status_code == 404, token
    assert not NotificationPreference.objects.filter(user=member).exists()


def test_settings_link_of_a_deactivated_person_is_404(collective, member):
    token = emails.settings_token(member)
    member.is_active = False
    member.save(update_fields=["is_active"])
    assert page_client().get(f"/notifications/settings/{token}/").status_code == 404


# --- each email sent once; a failed send retried ----------------------------------------------------------------


def test_sending_a_notification_twice_emails_it_once(collective, coordinator, member, mailoutbox,
                                                    django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notification_id = questioned(collective, member, actor=coordinator)
    assert len(mailoutbox) == 1
    assert Notification.objects.get(pk=notification_id).emailed_at is not None

    assert emails.notification_email_send(notification_id=notification_id) is False
    assert tasks.send_notification_emails.delay([notification_id]).get() == 0
    tasks.send_notification_emails.apply(args=[[notification_id]])
    assert len(mailoutbox) == 1


def test_daily_and_off_notifications_get_no_instant_email(collective, member, mailoutbox,
                                                          django_capture_on_commit_callbacks):
    NotificationPreference.objects.create(user=member, kind="contribution.questioned", email="off", in_app=True)
    with django_capture_on_commit_callbacks(execute=True):
        off = questioned(collective, member)
        daily = round_opened(collective, member)
    assert mailoutbox == []
    assert emails.notification_email_send(notification_id=off) is False
    assert emails.notification_email_send(notification_id=daily) is False
    assert mailoutbox == []


class FlakyBackend:
    """The mail server fails the first `failures` sends, then accepts."""

    def __init__(self, monkeypatch, failures: int, error: Exception):
        self.calls = 0
        self.failures = failures
        original = EmailBackend.send_messages
        flaky = self

        def send_messages(backend, messages):
            flaky.calls += 1
            if flaky.calls <= flaky.failures:
                raise error
            return original(backend, messages)

        monkeypatch.setattr(EmailBackend, "send_messages", send_messages)


@pytest.mark.parametrize("error", [OSError("connection refused"), smtplib.SMTPServerDisconnected("gone")])
def test_a_failed_send_leaves_the_notification_unsent_and_a_retry_sends_it(
        collective, member, mailoutbox, monkeypatch, error):
    notification_id = questioned(collective, member)  # its task is queued after commit: not run here
    flaky = FlakyBackend(monkeypatch, failures=1, error=error)

    with pytest.raises(OSError):
        emails.notification_email_send(notification_id=notification_id)
    assert Notification.objects.get(pk=notification_id).emailed_at is None
    assert mailoutbox == []

    assert emails.notification_email_send(notification_id=notification_id) is True
    assert Notification.objects.get(pk=notification_id).emailed_at is not None
    assert len(mailoutbox) == 1 and flaky.calls == 2


def test_celery_retries_a_failed_send_and_sends_nothing_twice(collective, coordinator, member, accountant,
                                                             mailoutbox, monkeypatch):
    """Two emails in one batch; the second fails once: the retry sends it, and not the first again."""
    first = questioned(collective, member)
    second = questioned(collective, accountant)
    sends = []
    original = EmailBackend.send_messages

    def send_messages(backend, messages):
        sends.append(messages[0].to[0])
        if len(sends) == 2:
            raise smtplib.SMTPServerDisconnected("the server went away")
        return original(backend, messages)

    monkeypatch.setattr(EmailBackend, "send_messages", send_messages)
    tasks.send_notification_emails.delay([first, second])

    assert sorted(m.to[0] for m in mailoutbox) == ["bob@example.org", "carol@example.org"]
    assert sends == ["bob@example.org", "carol@example.org", "carol@example.org"]
    assert Notification.objects.filter(pk__in=[first, second], emailed_at__isnull=True).count() == 0


def test_the_send_task_retries_only_the_failed_emails_with_backoff(collective, member, accountant, monkeypatch):
    failing = questioned(collective, member)
    fine = questioned(collective, accountant)
    send = tasks.emails.notification_email_send

    def flaky_send(*, notification_id):
        if notification_id == failing:
            raise smtplib.SMTPServerDisconnected("connection lost")
        return send(notification_id=notification_id)

    retries = []

    def retry(**options):
        retries.append(options)
        return RuntimeError("retried")

    monkeypatch.setattr(tasks.emails, "notification_email_send", flaky_send)
    monkeypatch.setattr(tasks.send_notification_emails, "retry", retry)
    tasks.send_notification_emails.apply(args=[[failing, fine]])

    assert retries == [{"args": [[failing]], "countdown": 1}]
    assert Notification.objects.get(pk=fine).emailed_at is not None
    assert Notification.objects.get(pk=failing).emailed_at is None
    assert tasks.send_notification_emails.acks_late and tasks.send_notification_emails.max_retries


def test_the_digest_task_retries_with_backoff_on_mail_errors():
    assert issubclass(smtplib.SMTPException, tasks.send_digest.autoretry_for)
    assert tasks.send_digest.retry_backoff and tasks.send_digest.max_retries and tasks.send_digest.acks_late


# --- daily digests -------------------------------------------------------------------------------------------------


@pytest.fixture
def at():
    """Backdate a notification's creation."""
    def set_created(notification_id, moment):
        Notification.objects.filter(pk=notification_id).update(created_at=moment)
    return set_created


@pytest.fixture
def beat(monkeypatch):
    """Run the beat task `send_due_digests` as if it were `now`."""
    def run(now):
        monkeypatch.setattr(tasks, "timezone", SimpleNamespace(now=lambda: now))
        return tasks.send_due_digests.delay().get()
    return run


def test_a_digest_batches_the_days_news_into_one_email_after_eight_local_time(
        collective, member, mailoutbox, at, beat):
    member.language = "en"
    member.save(update_fields=["language"])
    items = [round_opened(collective, member, name="Printemps", url="/c/la-fabrique/rounds/7/"),
             round_opened(collective, member, name="Été", url="/c/la-fabrique/rounds/8/"),
             round_opened(collective, member, name="Automne", url="/c/la-fabrique/rounds/9/")]
    for minutes, notification_id in enumerate(items):
        at(notification_id, paris(2025, 6, 9, 18, minutes))

    beat(paris(2025, 6, 10, 8, 5))

    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["bob@example.org"]
    assert "La Fabrique" in message.subject
    assert "3" in message.subject
    html, _mimetype = message.alternatives[0]
    for name, round_id in (("Printemps", 7), ("Été", 8), ("Automne", 9)):
        assert name in message.body and name in html
        assert f"{settings.SITE_URL.rstrip('/')}/c/la-fabrique/rounds/{round_id}/" in message.body
    assert emails.user_from_settings_token(settings_tokens(message.body)[0]) == member
    assert Notification.objects.filter(pk__in=items, emailed_at__isnull=True).count() == 0
    assert DigestRun.objects.get(user=member).item_count == 3


def test_no_digest_before_eight_in_the_collectives_time_zone(collective, member, mailoutbox, at, beat):
    faraway = CollectiveFactory(name="Brooklyn Commons", slug="brooklyn", timezone="America/New_York", locale="en")
    yorker = MembershipFactory(collective=faraway, user=UserFactory(email="dana@example.org")).user
    at(round_opened(collective, member), paris(2025, 6, 9, 18, 0))
    at(round_opened(faraway, yorker, url="/c/brooklyn/rounds/1/"), paris(2025, 6, 9, 18, 0))

    assert emails.digests_due(now=paris(2025, 6, 10, 7, 59)) == []
    assert beat(paris(2025, 6, 10, 7, 59)) == 0
    assert mailoutbox == []

    # 08:00 in Paris is 02:00 in New York: Bob's digest leaves, Dana's waits.
    assert beat(paris(2025, 6, 10, 8, 0)) == 1
    assert [m.to for m in mailoutbox] == [["bob@example.org"]]

    eight_in_new_york = paris(2025, 6, 10, 8, 0).astimezone(NEW_YORK).replace(hour=8)
    assert beat(eight_in_new_york - timedelta(minutes=1)) == 0
    assert beat(eight_in_new_york) == 1
    assert [m.to for m in mailoutbox] == [["bob@example.org"], ["dana@example.org"]]
    assert "Brooklyn Commons" in mailoutbox[1].subject


def test_beat_running_twice_sends_one_digest_a_day(collective, member, mailoutbox, at, beat):
    at(round_opened(collective, member, name="Printemps"), paris(2025, 6, 9, 18, 0))
    assert beat(paris(2025, 6, 10, 8, 0)) == 1
    assert beat(paris(2025, 6, 10, 8, 0)) == 0
    assert beat(paris(2025, 6, 10, 8, 15)) == 0
    assert len(mailoutbox) == 1

    # Something recorded "before 08:00" but committed after the digest left (a long transaction) waits for
    # tomorrow's digest: one email a day, whatever beat finds later that day.
    late = round_opened(collective, member, name="Été")
    at(late, paris(2025, 6, 10, 7, 59))
    assert emails.digests_due(now=paris(2025, 6, 10, 9, 0)) == []
    assert beat(paris(2025, 6, 10, 23, 45)) == 0
    assert len(mailoutbox) == 1

    assert beat(paris(2025, 6, 11, 8, 0)) == 1
    assert len(mailoutbox) == 2
    assert "Été" in mailoutbox[1].body and "Printemps" not in mailoutbox[1].body


def test_a_redelivered_digest_task_sends_nothing_twice(collective, member, mailoutbox, at):
    at(round_opened(collective, member), paris(2025, 6, 9, 18, 0))
    [due] = emails.digests_due(now=paris(2025, 6, 10, 8, 30))
    args = (due.user_id, due.day.isoformat(), due.cutoff.isoformat())
    assert tasks.send_digest.delay(*args).get() is True
    assert tasks.send_digest.delay(*args).get() is False
    assert emails.digest_send(user_id=due.user_id, day=due.day, cutoff=due.cutoff) is False
    assert len(mailoutbox) == 1


def test_a_digest_holds_only_what_was_recorded_before_eight(collective, member, mailoutbox, at, beat):
    early = round_opened(collective, member, name="Printemps")
    late = round_opened(collective, member, name="Été")
    at(early, paris(2025, 6, 10, 7, 50))
    at(late, paris(2025, 6, 10, 8, 2))

    beat(paris(2025, 6, 10, 8, 15))
    assert len(mailoutbox) == 1
    assert "Printemps" in mailoutbox[0].body and "Été" not in mailoutbox[0].body
    assert Notification.objects.get(pk=early).emailed_at is not None
    assert Notification.objects.get(pk=late).emailed_at is None

    assert beat(paris(2025, 6, 11, 8, 0)) == 1
    assert len(mailoutbox) == 2
    assert "Été" in mailoutbox[1].body and "Printemps" not in mailoutbox[1].body


def test_a_digest_leaves_out_instant_and_already_sent_news(collective, member, mailoutbox, at, beat,
                                                          django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        instant = questioned(collective, member, declaration="Ménage")
    at(instant, paris(2025, 6, 9, 18, 0))
    at(round_opened(collective, member, name="Printemps"), paris(2025, 6, 9, 18, 0))
    mailoutbox.clear()

    assert beat(paris(2025, 6, 10, 9, 0)) == 1
    assert len(mailoutbox) == 1
    assert "Printemps" in mailoutbox[0].body and "Ménage" not in mailoutbox[0].body


def test_a_failed_digest_is_not_marked_sent_and_goes_on_retry(collective, member, mailoutbox, monkeypatch, at):
    at(round_opened(collective, member, name="Printemps"), paris(2025, 6, 9, 18, 0))
    [due] = emails.digests_due(now=paris(2025, 6, 10, 8, 30))
    FlakyBackend(monkeypatch, failures=1, error=smtplib.SMTPServerDisconnected("gone"))

    with pytest.raises(OSError):
        emails.digest_send(user_id=due.user_id, day=due.day, cutoff=due.cutoff)
    assert mailoutbox == []
    assert Notification.objects.filter(recipient=member, emailed_at__isnull=True).count() == 1
    assert emails.digests_due(now=paris(2025, 6, 10, 8, 45)) == [due]

    assert emails.digest_send(user_id=due.user_id, day=due.day, cutoff=due.cutoff) is True
    assert len(mailoutbox) == 1


def test_a_digest_is_in_the_recipients_language(collective, member, mailoutbox, at, beat):
    member.language = "en"
    member.save(update_fields=["language"])
    at(round_opened(collective, member, name="Printemps"), paris(2025, 6, 9, 18, 0))
    beat(paris(2025, 6, 10, 8, 0))
    with translation.override("en"):
        expected = notification_text("round.opened", {"round": "Printemps", "envelope": "100.00"}, "EUR")
    assert expected in mailoutbox[0].body
    assert '<html lang="en">' in mailoutbox[0].alternatives[0][0]


def test_an_address_the_server_refuses_does_not_keep_the_rest_of_the_batch_from_their_email(
        collective, member, accountant, mailoutbox, monkeypatch):
    """A refused recipient fails every retry; the others queued in the same task still get their email."""
    refused = questioned(collective, member)
    fine = questioned(collective, accountant)
    original = EmailBackend.send_messages

    def send_messages(backend, messages):
        if messages[0].to == ["bob@example.org"]:
            raise smtplib.SMTPRecipientsRefused({"bob@example.org": (550, b"no such mailbox")})
        return original(backend, messages)

    monkeypatch.setattr(EmailBackend, "send_messages", send_messages)
    tasks.send_notification_emails.delay([refused, fine])

    assert [m.to for m in mailoutbox] == [["carol@example.org"]]
    assert Notification.objects.get(pk=fine).emailed_at is not None
    assert Notification.objects.get(pk=refused).emailed_at is None


def test_the_html_part_escapes_what_people_wrote(collective, member, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        questioned(collective, member, comment='<script>alert("x")</script> & co')
    message = mailoutbox[0]
    html = message.alternatives[0][0]
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<script>alert("x")</script> & co' in message.body  # the plain text part is left as written


@pytest.mark.django_db(transaction=True)
def test_concurrent_sends_of_one_notification_email_it_once(collective, member, mailoutbox):
    from tests.threads import run_concurrently

    notification_id = questioned(collective, member)  # committed: its task ran at once, eagerly
    Notification.objects.filter(pk=notification_id).update(emailed_at=None)
    mailoutbox.clear()

    results, errors = run_concurrently(lambda _i: emails.notification_email_send(notification_id=notification_id), 6)
    assert errors == []
    assert sorted(results) == [False] * 5 + [True]
    assert len(mailoutbox) == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_digest_tasks_send_one_digest(collective, member, mailoutbox):
    from tests.threads import run_concurrently

    Notification.objects.filter(pk=round_opened(collective, member)).update(created_at=paris(2025, 6, 9, 18, 0))
    [due] = emails.digests_due(now=paris(2025, 6, 10, 8, 0))

    results, errors = run_concurrently(
        lambda _i: emails.digest_send(user_id=due.user_id, day=due.day, cutoff=due.cutoff), 6)
    assert errors == []
    assert sorted(results) == [False] * 5 + [True]
    assert len(mailoutbox) == 1
    assert DigestRun.objects.get(user=member).sent_at is not None


def test_one_digest_is_due_per_person_whatever_their_number_of_news(collective, member, accountant, at):
    for n in range(3):
        at(round_opened(collective, member, name=f"Round {n}"), paris(2025, 6, 9, 18, n))
    at(round_opened(collective, accountant), paris(2025, 6, 9, 18, 0))
    due = emails.digests_due(now=paris(2025, 6, 10, 8, 0))
    assert sorted(d.user_id for d in due) == sorted([member.pk, accountant.pk])
