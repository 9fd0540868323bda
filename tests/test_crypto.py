"""Encryption at rest (contrib_budget.crypto): keys from the environment, rotated without losing what was written,
and loud when missing in production."""

import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured

from contrib_budget import checks, crypto

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def test_a_text_is_stored_as_a_token_and_read_back(settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    token = crypto.encrypt("FR7630006000011234567890189")
    assert "FR76" not in token and token != crypto.encrypt("FR7630006000011234567890189")
    assert crypto.decrypt(token) == "FR7630006000011234567890189"


def test_a_new_key_put_first_encrypts_while_the_old_one_still_decrypts(settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    written_before = crypto.encrypt("before")
    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]
    written_after = crypto.encrypt("after")
    assert crypto.decrypt(written_before) == "before"
    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    assert crypto.decrypt(written_after) == "after"
    with pytest.raises(crypto.UndecryptableValue):
        crypto.decrypt(written_before)


def test_without_keys_a_key_derived_from_the_secret_key_is_used(settings):
    settings.FIELD_ENCRYPTION_KEYS = []
    token = crypto.encrypt("x")
    assert Fernet(crypto.derived_key(settings.SECRET_KEY)).decrypt(token.encode()) == b"x"


def test_without_keys_nor_a_configured_secret_key_production_refuses_to_encrypt(settings):
    settings.FIELD_ENCRYPTION_KEYS, settings.DEBUG, settings.SECRET_KEY_CONFIGURED = [], False, False
    with pytest.raises(ImproperlyConfigured):
        crypto.encrypt("x")


def test_a_value_that_is_no_fernet_key_is_a_system_check_error(settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD, "not-a-key"]
    assert [error.id for error in checks.field_encryption_keys_valid(None)] == ["contrib_budget.E003"]
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    assert checks.field_encryption_keys_valid(None) == []


def _deploy_check(**env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in {"FIELD_ENCRYPTION_KEYS", "DEBUG"}}
    return subprocess.run([sys.executable, "manage.py", "check", "--deploy"], cwd=django_settings.BASE_DIR,
                          env={**environment, "SECRET_KEY": "x" * 60, **env}, capture_output=True, text=True,
                          timeout=120)


def test_the_deploy_check_fails_in_production_until_encryption_keys_are_set():
    missing = _deploy_check()
    assert missing.returncode != 0 and "contrib_budget.E002" in missing.stderr
    configured = _deploy_check(FIELD_ENCRYPTION_KEYS=f"{NEW},{OLD}")
    assert "contrib_budget.E002" not in configured.stdout + configured.stderr
    debug = _deploy_check(DEBUG="1")
    assert "contrib_budget.E002" not in debug.stdout + debug.stderr
