"""Load the demo data of every app once; later runs keep what is there."""

import importlib
import importlib.util

from django.core.management.base import BaseCommand
from django.db import transaction

from members import demo

# Apps that may add demo data, in the order they build on each other.
APP_DEMO_MODULES = ("budgets.demo", "contributions.demo", "cobudget.demo", "accounting.demo")


class Command(BaseCommand):
    help = "Create the demo collectives and people (idempotent) and print the demo accounts."

    def handle(self, *args, **options) -> None:
        if demo.demo_exists():
            self.stdout.write("The demo data is already there: reusing it.")
        else:
            with transaction.atomic():
                data = demo.seed()
                for module_name in APP_DEMO_MODULES:
                    if importlib.util.find_spec(module_name) is not None:
                        importlib.import_module(module_name).seed(data)
            self.stdout.write(self.style.SUCCESS("Demo data created."))
        self.print_accounts()

    def print_accounts(self) -> None:
        self.stdout.write(f"Demo accounts (password for all: {demo.DEMO_PASSWORD}):")
        for email, name, roles in demo.demo_accounts():
            memberships = "; ".join(f"{collective}: {', '.join(r)}" for collective, r in roles.items())
            self.stdout.write(f"  {email:<34} {name:<16} {memberships}")
