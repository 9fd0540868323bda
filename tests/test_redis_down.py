"""Redis really stopped (a private redis-server, shut down): people still log in, get tokens, record money and
invite, without waiting; the emails that could not be queued go out once Redis is back, each exactly once.

tests/test_broker_down.py simulates a refusing broker inside the process; here the server itself goes away, so the
cache (login limits, throttles), the broker connection and a real worker (which lives through the outage) all meet
it.
"""

import logging
import os
import signal
import socket
import subprocess
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import redis
from allauth.account.models import EmailAddress
from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache
from django.test import Client
from django.urls import reverse
from redis.backoff import NoBackoff
from redis.retry import Retry
from rest_framework.test import APIClient

from budgets.models import Funding, RateLevel
from contrib_budget import cache as fallback_cache
from contrib_budget.celery import app
from contributions.models import Contribution
from members import services
from members import tasks as member_tasks
from members.models import Invitation, Role
from members.notifications import tasks as notification_tasks
from members.notifications.emails import UNSENT_AFTER
from members.notifications.models import EmailMode, Notification
from members.selectors import INVITATION_UNSENT_AFTER
from tests.budgets.helpers import make_budget
from tests.conftest import PASSWORD
from tests.factories import MembershipFactory, UserFactory
from tests.members.test_api import fresh_address

# A request made while Redis is down answers within this many seconds: the slowest measures 0.3 to 0.7 s here (on a
# busy machine); one that queued a task waited 6 s before the broker's connection was made to fail at once.
FAST = 3.0
WAIT_SECONDS = 60


class PrivateRedis:
    """A redis-server of the test's own, on a free port, with nothing saved to disk; stopped and started again on
    the same port."""

    def __init__(self, directory: Path):
        self.directory = directory
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process: subprocess.Popen | None = None

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self, db: int) -> redis.Redis:
        # No retries: redis-py's default (three, with backoff) would make each failed call last seconds.
        return redis.Redis(host="127.0.0.1", port=self.port, db=db, socket_timeout=2, retry=Retry(NoBackoff(), 0))

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", str(self.directory)],
            stdout=(self.directory / "redis.log").open("ab"), stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if self.client(0).ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.02)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            self.client(0).shutdown(nosave=True)
        except redis.ConnectionError:
            pass  # the server closes the connection as it goes
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def private_redis(tmp_path):
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_cache(private_redis, settings):
    """The Django cache (the project's backend, with its options) on the private Redis."""
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": private_redis.url(1)}}
    yield cache
    fallback_cache.RedisCacheWithLocalFallback._unreachable_until.pop(private_redis.url(1), None)


def _use_broker(url: str) -> None:
    app.conf.broker_url = url
    app._pool = None  # the connection and producer pools were made for the previous broker
    app.amqp._producer_pool = None


@pytest.fixture
def redis_broker(private_redis):
    """Celery publishes to the private Redis, for real (not eagerly)."""
    previous_url, previous_eager = app.conf.broker_url, app.conf.task_always_eager
    _use_broker(private_redis.url(0))
    app.conf.task_always_eager = False
    yield private_redis
    app.pool.force_close_all()
    _use_broker(previous_url)
    app.conf.task_always_eager = previous_eager


# The cache alone


def _cache_warnings(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "contrib_budget.cache"]


def test_with_redis_stopped_the_cache_carries_on_in_local_memory(redis_cache, private_redis, caplog):
    redis_cache.set("kept", "in redis")
    assert private_redis.client(1).exists(redis_cache.make_key("kept"))
    private_redis.stop()

    with caplog.at_level(logging.WARNING, logger="contrib_budget.cache"):
        started = time.monotonic()
        assert redis_cache.get("kept") is None  # Redis's data is out of reach, not an error
        assert redis_cache.add("failures", 1) and redis_cache.incr("failures") == 2
        assert redis_cache.get_many(["failures"]) == {"failures": 2}
        assert time.monotonic() - started < FAST
    warnings = _cache_warnings(caplog)
    assert len(warnings) == 1 and warnings[0].startswith("cache: Redis is unreachable (")


def test_a_dead_redis_is_tried_again_only_after_a_pause_then_used_again(redis_cache, private_redis, monkeypatch,
                                                                        caplog):
    pause = 0.5
    monkeypatch.setattr(fallback_cache, "RETRY_AFTER", pause)
    attempts = []
    original_get = RedisCache.get

    def counted_get(self, *args, **kwargs):
        attempts.append(time.monotonic())
        return original_get(self, *args, **kwargs)

    monkeypatch.setattr(RedisCache, "get", counted_get)
    private_redis.stop()
    for _ in range(50):
        redis_cache.get("anything")
    assert len(attempts) == 1

    time.sleep(pause)
    redis_cache.get("anything")
    assert len(attempts) == 2  # tried again after the pause, still down

    private_redis.start()
    time.sleep(pause)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="contrib_budget.cache"):
        assert redis_cache.get("anything") is None
        redis_cache.set("back", 1)
    assert len(attempts) == 3
    assert private_redis.client(1).get(redis_cache.make_key("back")) == b"1"
    assert _cache_warnings(caplog) == ["cache: Redis answers again; the local cache is no longer used"]


def test_a_frozen_redis_costs_the_cache_a_second_not_a_hang(redis_cache, private_redis):
    redis_cache.set("warm", 1)  # a pooled connection, open before Redis stops answering
    os.kill(private_redis.process.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        redis_cache.set("while-frozen", 1)
        assert redis_cache.get("while-frozen") == 1
        assert time.monotonic() - started < FAST
    finally:
        os.kill(private_redis.process.pid, signal.SIGCONT)


# The whole stack


@pytest.fixture
def mail_dir(tmp_path) -> Path:
    return tmp_path / "mail"


@pytest.fixture
def celery_worker_env(redis_broker, mail_dir):
    # Four slashes: django-environ keeps the path absolute.
    return {"CELERY_BROKER_URL": redis_broker.url(0), "REDIS_URL": redis_broker.url(1),
            "EMAIL_URL": f"filemail:///{mail_dir}"}


def _messages(directory: Path) -> list[str]:
    """The emails the worker wrote (the file backend: one file per connection, messages separated by a rule)."""
    files = sorted(directory.glob("*.log")) if directory.exists() else []
    return [message for path in files for message in path.read_text().split("-" * 79) if "Subject:" in message]


def _recipient(message: str) -> str:
    return next(line[4:].strip() for line in message.splitlines() if line.startswith("To: "))


def _wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"waited {WAIT_SECONDS} s for {what}")


def _queue_drained(server: PrivateRedis) -> bool:
    """Every message queued was taken and acknowledged (kombu keeps unacknowledged ones in `unacked`)."""
    client = server.client(0)
    return client.llen("celery") == 0 and client.hlen("unacked") == 0


class Timed:
    """Every request answers, and fast: the broker and cache being gone must not make anyone wait."""

    def __init__(self):
        self.durations: list[float] = []

    def __call__(self, send, *args, **kwargs):
        started = time.monotonic()
        response = send(*args, **kwargs)
        self.durations.append(time.monotonic() - started)
        assert self.durations[-1] < FAST, f"{send} took {self.durations[-1]:.2f} s"
        return response


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_with_redis_stopped_people_work_and_the_emails_leave_once_when_it_is_back(
        private_redis, redis_cache, redis_broker, start_celery_worker, mail_dir, collective, coordinator, member,
        monkeypatch):
    monkeypatch.setattr(fallback_cache, "RETRY_AFTER", 1.0)
    for user in (coordinator, member):
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    budget = make_budget(collective, coordinator, received=None)
    rate = RateLevel.objects.create(collective=collective, budget=budget, name="Standard",
                                    hourly_rate=Decimal("20.00"))
    locked_out = UserFactory(email="guessed@example.org")
    MembershipFactory(collective=collective, user=locked_out, roles=[Role.MEMBER.value])
    base = f"/api/v1/collectives/{collective.slug}"
    timed = Timed()
    start_celery_worker()  # it lives through the outage

    private_redis.stop()  # the cache's Redis and the broker

    # Web login, and a page behind it.
    browser = Client(REMOTE_ADDR=fresh_address(), HTTP_ACCEPT_LANGUAGE="en")
    assert timed(browser.get, reverse("account_login")).status_code == 200
    logged_in = timed(browser.post, reverse("account_login"), {"login": coordinator.email, "password": PASSWORD})
    assert logged_in.status_code == 302 and "_auth_user_id" in browser.session
    assert timed(browser.get, reverse("home")).status_code == 200

    # The token endpoint; its login limit still counts (in this process).
    def ask_token(email, password):
        return timed(APIClient(REMOTE_ADDR=fresh_address()).post, "/api/v1/auth/token/",
                     {"email": email, "password": password}, format="json")

    alice, bob = APIClient(REMOTE_ADDR=fresh_address()), APIClient(REMOTE_ADDR=fresh_address())
    for client, person in ((alice, coordinator), (bob, member)):
        answer = ask_token(person.email, PASSWORD)
        assert answer.status_code == 200, answer.content
        client.credentials(HTTP_AUTHORIZATION=f"Token {answer.json()['token']}")
    while (wrong := ask_token(locked_out.email, "not the password")).status_code != 429:
        assert wrong.status_code == 401 and len(timed.durations) < 30
    assert ask_token(locked_out.email, PASSWORD).status_code == 429

    # Money: a funding received, a declaration, and a question on it (which notifies its author).
    funded = timed(alice.post, f"{base}/budgets/{budget.pk}/fundings/",
                   {"source": "Région", "amount": "900.00", "status": "received", "received_on": "2025-01-06"},
                   format="json")
    assert funded.status_code == 201, funded.content
    declared = timed(bob.post, f"{base}/contributions/", {
        "budget": budget.pk, "performed_on": "2025-03-03", "description": "Accueil", "minutes": 60,
        "rate_level": rate.pk}, format="json")
    assert declared.status_code == 201, declared.content
    asked = timed(alice.post, f"{base}/contributions/{declared.json()['id']}/question/",
                  {"comment": "Combien de personnes ?"}, format="json")
    assert asked.status_code == 201, asked.content

    # An invitation.
    invited = timed(alice.post, f"{base}/members/", {"email": "newcomer@example.org",
                                                      "roles": [Role.MEMBER.value]}, format="json")
    assert invited.status_code == 202, invited.content

    assert Funding.objects.filter(budget=budget, source="Région").count() == 1
    assert Contribution.objects.filter(author=member).count() == 1
    invitation = Invitation.objects.get(email="newcomer@example.org")
    instant = Notification.objects.filter(email=EmailMode.INSTANT)
    assert invitation.email_sent_at is None and instant.filter(kind="contribution.questioned").exists()
    assert not instant.exclude(emailed_at=None).exists() and _messages(mail_dir) == []
    expected = sorted(["newcomer@example.org", *instant.values_list("recipient__email", flat=True)])

    # Redis comes back: the cache returns to it, the worker reconnects, and beat's sweeps queue what was left.
    private_redis.start()
    time.sleep(fallback_cache.RETRY_AFTER)
    assert ask_token(coordinator.email, PASSWORD).status_code == 200
    assert private_redis.client(1).keys("*throttle_auth_token*")  # the throttle counts in Redis again
    made = invitation.created_at - timedelta(minutes=1)  # a while ago: old enough for both sweeps
    Invitation.objects.filter(pk=invitation.pk).update(created_at=made - INVITATION_UNSENT_AFTER)
    instant.update(created_at=made - UNSENT_AFTER)
    member_tasks.send_unsent_invitation_emails.delay()  # what beat does
    notification_tasks.send_unsent_emails.delay()
    _wait_for(lambda: len(_messages(mail_dir)) >= len(expected), f"{len(expected)} emails")
    _wait_for(lambda: _queue_drained(private_redis), "the worker to empty the queue")

    # The sweeps again, and the email tasks delivered twice: nothing leaves a second time. Last in the queue, an
    # invitation made now leaves at once, the usual way: once it is sent, the worker has run all the rest.
    member_tasks.send_unsent_invitation_emails.delay()
    notification_tasks.send_unsent_emails.delay()
    member_tasks.send_invitation_email.delay(invitation.pk)
    notification_tasks.send_notification_emails.delay(list(instant.values_list("pk", flat=True)))
    latecomer = services.invitation_create(collective=collective, actor=coordinator, email="latecomer@example.org",
                                           roles=[Role.MEMBER.value])
    _wait_for(lambda: Invitation.objects.filter(pk=latecomer.pk).exclude(email_sent_at=None).exists(),
              "the invitation made once Redis was back to be emailed")
    _wait_for(lambda: _queue_drained(private_redis), "the worker to empty the queue again")

    messages = _messages(mail_dir)
    assert sorted(_recipient(message) for message in messages) == sorted([*expected, "latecomer@example.org"])
    assert any(f"/invitations/{invitation.token}/" in message for message in messages)
    invitation.refresh_from_db()
    assert invitation.email_sent_at is not None and not instant.filter(emailed_at=None).exists()
    print(f"\nrequests while Redis was down: {len(timed.durations)}, slowest {max(timed.durations):.3f} s, "
          f"total {sum(timed.durations):.2f} s")
