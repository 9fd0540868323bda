"""Token names become unique per person: the migration keeps every existing token working under a distinct name."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from contrib_budget.db_roles import app_role_grant, connected_as_owner

BEFORE = [("members", "0004_user_language")]
AFTER = [("members", "0005_consent_and_token_limits")]


def _latest():
    """Every app at its last migration: going back to members 0004 also unapplied what depends on 0005."""
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_tokens_sharing_a_name_are_renamed_newest_first_and_none_is_lost():
    application_role = connection.settings_dict["USER"]
    with connected_as_owner():  # migrating is the owner role's
        try:
            _renames_tokens()
        finally:
            # As `manage.py migrate` does: the tables migrated away and back are new, and the application's role
            # gets its privileges on them again (an UPDATE, say, that new tables do not grant by default).
            app_role_grant(role=application_role)


def _renames_tokens():
    try:
        old_apps = _migrate(BEFORE)
        User = old_apps.get_model("members", "User")
        PersonalToken = old_apps.get_model("members", "PersonalToken")
        alice = User.objects.create(email="alice@example.org")
        bob = User.objects.create(email="bob@example.org")
        for index, (user, name) in enumerate([(alice, "laptop"), (alice, "laptop"), (alice, "laptop (2)"),
                                              (alice, "laptop"), (bob, "laptop")]):
            PersonalToken.objects.create(user=user, name=name, key_hash=f"hash-{index}", prefix=f"p{index}")

        new_apps = _migrate(AFTER)
        PersonalToken = new_apps.get_model("members", "PersonalToken")
        names = dict(PersonalToken.objects.values_list("key_hash", "name"))
        assert names == {"hash-3": "laptop", "hash-1": "laptop (3)", "hash-0": "laptop (4)", "hash-2": "laptop (2)",
                         "hash-4": "laptop"}
        assert PersonalToken.objects.filter(expires_at__isnull=False).count() == 0
    finally:
        _migrate(_latest())
