"""Production settings: safe without configuration, loud about what is missing."""

import os
import subprocess
import sys

from django.conf import settings
from django_celery_beat.models import PeriodicTask

from contrib_budget.celery import app


def _manage(*arguments: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    return subprocess.run([sys.executable, "manage.py", *arguments], cwd=settings.BASE_DIR,
                          env={**environment, **env}, capture_output=True, text=True, timeout=120)


def test_management_commands_run_without_a_configured_secret_key():
    result = _manage("check")
    assert result.returncode == 0, result.stderr


def test_deploy_check_fails_until_a_secret_key_is_configured():
    missing = _manage("check", "--deploy")
    assert missing.returncode != 0
    assert "contrib_budget.E001" in missing.stderr
    configured = _manage("check", "--deploy", SECRET_KEY="x" * 60)
    assert "contrib_budget.E001" not in configured.stdout + configured.stderr


def test_the_owner_role_must_reach_the_applications_database():
    result = _manage("check", DATABASE_URL="postgres://app@127.0.0.1:5432/contrib_budget",
                     DATABASE_OWNER_URL="postgres://owner@127.0.0.1:5432/elsewhere")
    assert result.returncode != 0
    assert "DATABASE_OWNER_URL must name the database of DATABASE_URL" in result.stderr
    for owner in ("postgres://owner@127.0.0.1:5432/contrib_budget", "postgres://owner@127.0.0.1:5432"):
        result = _manage("check", DATABASE_URL="postgres://app@127.0.0.1:5432/contrib_budget", DATABASE_OWNER_URL=owner)
        assert result.returncode == 0, result.stderr


def test_every_schedule_is_in_the_settings_and_names_a_registered_task(db, settings):
    app.loader.import_default_modules()  # what a worker does: every app's tasks module
    assert not PeriodicTask.objects.exists(), "no migration may schedule a task: CELERY_BEAT_SCHEDULE holds them all"
    assert {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()} <= set(app.tasks)


def _database_setting(name: str, **env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "CONN_MAX_AGE"}}
    read = f"from django.conf import settings; print(settings.DATABASES['default']['{name}'])"
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c", read], cwd=settings.BASE_DIR,
                            env={**environment, **env}, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_production_keeps_database_connections_and_checks_them_before_reuse():
    environment = {"SECRET_KEY": "x" * 60}
    assert _database_setting("CONN_MAX_AGE", **environment) == "600"
    assert _database_setting("CONN_HEALTH_CHECKS", **environment) == "True"
    assert _database_setting("CONN_MAX_AGE", CONN_MAX_AGE="30", **environment) == "30"
    assert _database_setting("CONN_MAX_AGE", DEBUG="1") == "0"


def test_gunicorn_serves_with_two_processes_of_four_threads_unless_told_otherwise(monkeypatch):
    import runpy

    config = settings.BASE_DIR / "contrib_budget" / "gunicorn.conf.py"
    assert {key: runpy.run_path(str(config))[key] for key in ("workers", "threads", "worker_class")} == {
        "workers": 2, "threads": 4, "worker_class": "gthread"}
    monkeypatch.setenv("WEB_WORKERS", "3")
    monkeypatch.setenv("WEB_THREADS", "8")
    assert (runpy.run_path(str(config))["workers"], runpy.run_path(str(config))["threads"]) == (3, 8)
