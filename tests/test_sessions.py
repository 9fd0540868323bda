"""The session store (contrib_budget.sessions): Django's database store with its read prepared."""

from datetime import timedelta

from django.contrib.sessions.models import Session
from django.utils import timezone

from contrib_budget.sessions import SessionStore


def test_a_saved_session_is_read_back_by_its_key(db):
    saved = SessionStore()
    saved["colour"] = "green"
    saved.create()
    read = SessionStore(session_key=saved.session_key)
    assert read["colour"] == "green"
    assert read.session_key == saved.session_key


def test_an_expired_or_unknown_session_reads_as_a_new_empty_one(db):
    expired = SessionStore()
    expired["colour"] = "green"
    expired.create()
    Session.objects.filter(session_key=expired.session_key).update(expire_date=timezone.now() - timedelta(seconds=1))
    for key in (expired.session_key, "x" * 32, None):
        read = SessionStore(session_key=key)
        assert dict(read.items()) == {}
        assert read.session_key is None
