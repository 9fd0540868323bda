"""The database's two roles: the owner migrates, the application owns nothing.

The tables, their triggers (the ledger's guards among them) and the migrations belong to the owner role
(DATABASE_OWNER_URL). The application connects as another role (DATABASE_URL) that may read every table, add
rows, and change or delete rows only where APP_PRIVILEGES says so: it cannot TRUNCATE, ALTER a table, disable a
trigger, set session_replication_role, nor rewrite a ledger row. `manage.py migrate` connects as the owner,
migrates, then grants the application's role exactly this (app_role_grant); `manage.py grant_app_role` grants
it again alone. With a single role (DATABASE_OWNER_URL unset) nothing is granted and nothing is separated.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.apps import apps
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from psycopg import sql

UPDATE, DELETE = "UPDATE", "DELETE"

# What the application's role may do beyond SELECT and INSERT, which it has on every table (and on new ones, by
# default privileges, until they are listed here). Every model is listed, so that a new one is a decision
# (tests/test_db_roles.py checks it). Locking rows (select_for_update, FOR SHARE) needs UPDATE too.
APP_PRIVILEGES: dict[str, tuple[str, ...]] = {
    # Django, allauth, Celery beat: sessions, logins, email addresses, two-factor keys, schedules.
    "admin.LogEntry": (),
    "auth.Permission": (),
    "auth.Group": (UPDATE, DELETE),
    "auth.Group_permissions": (DELETE,),
    "contenttypes.ContentType": (),
    "sessions.Session": (UPDATE, DELETE),
    "account.EmailAddress": (UPDATE, DELETE),
    "account.EmailConfirmation": (UPDATE, DELETE),
    "mfa.Authenticator": (UPDATE, DELETE),
    "django_celery_beat.SolarSchedule": (UPDATE, DELETE),
    "django_celery_beat.IntervalSchedule": (UPDATE, DELETE),
    "django_celery_beat.ClockedSchedule": (UPDATE, DELETE),
    "django_celery_beat.CrontabSchedule": (UPDATE, DELETE),
    "django_celery_beat.PeriodicTasks": (UPDATE, DELETE),
    "django_celery_beat.PeriodicTask": (UPDATE, DELETE),
    # Idempotency records: completed, freed after a 5xx, purged after 24 hours.
    "contrib_budget.IdempotencyRecord": (UPDATE, DELETE),
    # People and collectives: memberships end, tokens are replaced and revoked; the audit trail is append-only.
    "members.User": (UPDATE,),
    "members.User_groups": (DELETE,),
    "members.User_user_permissions": (DELETE,),
    "members.Collective": (UPDATE,),
    "members.Membership": (UPDATE, DELETE),
    "members.Invitation": (UPDATE,),
    "members.AuditEvent": (),
    "members.PersonalToken": (UPDATE, DELETE),
    "members.BankDetails": (UPDATE,),  # a person changes their own; kept when they leave, for payouts owed
    # Notifications: marked read and emailed; preferences, digests and reminders' settings change.
    "notifications.Notification": (UPDATE,),
    "notifications.NotificationPreference": (UPDATE,),
    "notifications.DigestRun": (UPDATE,),
    "notifications.ReminderSettings": (UPDATE,),
    # The ledger is append-only; an account's cached balance moves only with its entries (a trigger checks it).
    "budgets.Account": (UPDATE,),
    "budgets.LedgerTransaction": (),
    "budgets.Entry": (),
    "budgets.Budget": (UPDATE,),
    "budgets.RateLevel": (UPDATE, DELETE),
    "budgets.Funding": (UPDATE,),
    "budgets.Envelope": (UPDATE,),
    "budgets.Task": (UPDATE,),
    "budgets.Period": (UPDATE, DELETE),  # a budget's periods are laid out again while none has started
    "contributions.Contribution": (UPDATE,),
    "contributions.Approval": (DELETE,),  # withdrawn when the declaration is amended
    "contributions.Comment": (),
    "budgets.Payout": (UPDATE,),
    "budgets.PayoutBatch": (UPDATE,),  # marked sent, or cancelled
    "budgets.PayoutCorrection": (UPDATE,),  # recovered
    "cobudget.Round": (UPDATE,),
    "cobudget.Round_participants": (DELETE,),
    "cobudget.Wallet": (UPDATE,),
    "cobudget.Bucket": (UPDATE,),
    "cobudget.Bucket_carriers": (DELETE,),
    "cobudget.BudgetLine": (DELETE,),  # a bucket's lines are replaced as a whole
    "cobudget.Allocation": (),
    "cobudget.MemberBucketTotal": (UPDATE,),  # moved by the allocations' trigger (cobudget migration 0008)
    "cobudget.BucketComment": (),
    "cobudget.BucketFlag": (UPDATE,),  # resolved by a coordinator
    "cobudget.BucketSupport": (UPDATE, DELETE),  # its score changes, or it is taken back
    "cobudget.RoundCloseRequest": (),
    "cobudget.RoundTemplate": (UPDATE, DELETE),  # its rules and schedule change; a coordinator deletes it
    "cobudget.Delegation": (UPDATE,),  # taken back
    "accounting.Export": (UPDATE, DELETE),
    "accounting.AccountingSettings": (UPDATE,),
    "accounting.AccountMapping": (UPDATE,),
    "accounting.IssuedDocument": (),  # frozen at issue
    # An import of incoming money is applied once; its lines record what was chosen and what it became.
    "accounting.FundingImport": (UPDATE,),
    "accounting.FundingImportLine": (UPDATE,),
}
# Tables without a model: read only.
APP_READ_ONLY_TABLES = ("django_migrations",)

CREDENTIALS = ("USER", "PASSWORD", "HOST", "PORT", "OPTIONS")


def app_table_privileges() -> dict[str, tuple[str, ...]]:
    """Every table the application's role may touch, with its privileges."""
    privileges = {table: ("SELECT",) for table in APP_READ_ONLY_TABLES}
    for label, extra in APP_PRIVILEGES.items():
        privileges[apps.get_model(label)._meta.db_table] = ("SELECT", "INSERT", *extra)
    return privileges


def owner_credentials() -> dict:
    return {key: settings.DATABASE_OWNER.get(key, "" if key != "OPTIONS" else {}) for key in CREDENTIALS}


def is_owner(using: str = DEFAULT_DB_ALIAS) -> bool:
    connection = connections[using]
    return all(connection.settings_dict.get(key) == value for key, value in owner_credentials().items()
               if key in ("USER", "HOST", "PORT"))


@contextmanager
def connected_as_owner(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Let this thread's connection reach the same database as the owner role, then as before.

    Only this connection object changes: other threads keep connecting as the application's role.
    """
    connection = connections[using]
    if is_owner(using):
        yield
        return
    if connection.in_atomic_block:
        raise RuntimeError("The database role cannot change inside a transaction.")
    application = connection.settings_dict
    connection.close()
    connection.settings_dict = {**application, **owner_credentials()}
    try:
        yield
    finally:
        connection.close()
        # NAME may have changed meanwhile (the test database): the shared settings follow it already.
        connection.settings_dict = application


class RoleError(Exception):
    pass


def app_role_grant(*, role: str, password: str = "", using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """As the owner: create the application's role if it is missing (it may log in, nothing more), make its
    privileges on every table exactly those APP_PRIVILEGES gives, and let tables the owner creates later grant it
    SELECT and INSERT. Returns the tables granted; nothing when the role is the owner itself (a single role)."""
    connection = connections[using]
    quote = connection.ops.quote_name
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        owner = cursor.fetchone()[0]
        if not role or role == owner:
            return []
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [role])
        found = cursor.fetchone()
        if found is None:
            create = sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION").format(
                sql.Identifier(role))
            if password:
                create += sql.SQL(" PASSWORD {}").format(sql.Literal(password))
            cursor.cursor.execute(create)  # not through Django's cursor, which may log statements
        elif found[0]:
            raise RoleError(f"The application's role {role} is a superuser: nothing would bind it.")
        cursor.execute("SELECT string_agg(relname, ', ') FROM pg_class WHERE relpersistence <> 't' AND relowner = "
                       "(SELECT oid FROM pg_roles WHERE rolname = %s)", [role])
        owned = cursor.fetchone()[0]
        if owned:
            raise RoleError(f"The application's role {role} owns {owned}: give them to the owner role "
                            f"(REASSIGN OWNED BY {role} TO {owner}) and migrate again.")
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        tables = {name for (name,) in cursor.fetchall()}
        privileges = app_table_privileges()
        by_privileges: dict[tuple[str, ...], list[str]] = {}
        for table in sorted(tables):
            by_privileges.setdefault(privileges.get(table, ("SELECT", "INSERT")), []).append(quote(table))
        grantee = quote(role)
        cursor.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {grantee}")
        cursor.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {grantee}")
        cursor.execute(f"GRANT USAGE ON SCHEMA public TO {grantee}")
        for granted, names in by_privileges.items():
            cursor.execute(f"GRANT {', '.join(granted)} ON {', '.join(names)} TO {grantee}")
        cursor.execute(f"ALTER DEFAULT PRIVILEGES FOR ROLE {quote(owner)} IN SCHEMA public "
                       f"GRANT SELECT, INSERT ON TABLES TO {grantee}")
        # Ids taken from a table's sequence before its rows are copied in (contrib_budget.bulk); nothing more.
        cursor.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {grantee}")
    return sorted(tables)
