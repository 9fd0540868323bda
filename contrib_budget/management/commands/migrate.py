"""Django's `migrate`, run as the owner role; then the application's role is granted its privileges."""

from django.core.management import CommandError
from django.core.management.commands.migrate import Command as DjangoMigrate
from django.db import connections

from contrib_budget import db_roles


class Command(DjangoMigrate):
    help = (DjangoMigrate.help + " Connects as the owner role (DATABASE_OWNER_URL), then grants the application's "
            "role (DATABASE_URL) what contrib_budget/db_roles.py lists.")

    def handle(self, *args, **options):
        database = options["database"]
        application = connections[database].settings_dict
        role, password = application["USER"], application["PASSWORD"]
        with db_roles.connected_as_owner(database):
            super().handle(*args, **options)
            if options["plan"] or options["check_unapplied"]:
                return
            try:
                tables = db_roles.app_role_grant(role=role, password=password, using=database)
            except db_roles.RoleError as error:
                raise CommandError(str(error)) from None
        if tables and options["verbosity"] >= 1:
            self.stdout.write(f"Granted the role {role} its privileges on {len(tables)} tables.")
