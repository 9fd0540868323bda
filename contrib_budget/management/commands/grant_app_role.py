"""Grant the application's role its privileges again, without migrating (`migrate` does it too)."""

from django.core.management import BaseCommand, CommandError
from django.db import connections

from contrib_budget import db_roles


class Command(BaseCommand):
    help = ("As the owner role (DATABASE_OWNER_URL), create the application's role (DATABASE_URL) if it is missing "
            "and grant it exactly what contrib_budget/db_roles.py lists.")

    def handle(self, *args, **options):
        application = connections["default"].settings_dict
        role = application["USER"]
        with db_roles.connected_as_owner():
            try:
                tables = db_roles.app_role_grant(role=role, password=application["PASSWORD"])
            except db_roles.RoleError as error:
                raise CommandError(str(error)) from None
        if tables:
            self.stdout.write(f"Granted the role {role} its privileges on {len(tables)} tables.")
        else:
            self.stdout.write("The application connects as the owner role: nothing to grant.")
