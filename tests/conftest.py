import os
import subprocess
import sys
import time

import pytest
from rest_framework.test import APIClient

from members.models import Role

from .factories import CollectiveFactory, MembershipFactory, UserFactory

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Hashing with PBKDF2 costs ~0.3 s a user; tests need passwords to work, not to resist attacks."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def collective(db):
    return CollectiveFactory(name="La Fabrique", slug="la-fabrique")


@pytest.fixture
def coordinator(collective):
    return MembershipFactory(collective=collective, user=UserFactory(email="alice@example.org", name="Alice"),
                             roles=[Role.COORDINATOR.value, Role.MEMBER.value]).user


@pytest.fixture
def member(collective):
    return MembershipFactory(collective=collective, user=UserFactory(email="bob@example.org", name="Bob"),
                             roles=[Role.MEMBER.value, Role.CONTRIBUTOR.value]).user


@pytest.fixture
def accountant(collective):
    return MembershipFactory(collective=collective, user=UserFactory(email="carol@example.org", name="Carol"),
                             roles=[Role.ACCOUNTANT.value]).user


@pytest.fixture
def outsider(db):
    """Charlie belongs to another collective only."""
    other = CollectiveFactory(name="Ailleurs", slug="ailleurs")
    return MembershipFactory(collective=other, user=UserFactory(email="charlie@example.org", name="Charlie"),
                             roles=[Role.COORDINATOR.value]).user


@pytest.fixture
def api():
    def client_for(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return client_for


@pytest.fixture
def celery_worker_env() -> dict[str, str]:
    """Extra environment for the worker process; override it in a test module (e.g. EMAIL_URL)."""
    return {}


@pytest.fixture
def start_celery_worker(transactional_db, settings, celery_worker_env):
    """Start real Celery worker processes, consuming through Redis, on the test database (any number: a test may
    kill one and start another). Tasks sent meanwhile go through the broker instead of running eagerly; data a
    task needs must be committed, hence `transactional_db`."""
    from contrib_budget.celery import app

    database = settings.DATABASES["default"]
    url = "postgres://{USER}@{HOST}:{PORT}/{NAME}".format(
        USER=database["USER"] or "postgres", HOST=database["HOST"] or "127.0.0.1",
        PORT=database["PORT"] or 5432, NAME=database["NAME"],
    )
    env = {**os.environ, "DATABASE_URL": url, "CELERY_TASK_ALWAYS_EAGER": "0", **celery_worker_env}
    app.control.purge()
    processes = []
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False

    def start():
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "contrib_budget", "worker", "--pool=solo",
             "--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel=WARNING"],
            env=env, cwd=settings.BASE_DIR,
        )
        processes.append(process)
        _wait_for_worker(app, process)
        return process

    try:
        yield start
    finally:
        app.conf.task_always_eager = previous
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def celery_worker(start_celery_worker):
    """One real Celery worker process (see `start_celery_worker`)."""
    return start_celery_worker()


def _wait_for_worker(app, process, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("The Celery worker exited while starting.")
        if app.control.ping(timeout=0.5):
            return
    raise RuntimeError("The Celery worker did not answer within %s seconds." % timeout)
