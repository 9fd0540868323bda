from django.core.management.base import BaseCommand, CommandError

from budgets.ledger_audit import books_violations


class Command(BaseCommand):
    help = "Verify every ledger invariant; exit non-zero on a violation."

    def handle(self, *args, **options):
        problems = books_violations()
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"{len(problems)} ledger invariant(s) violated.")
        self.stdout.write(self.style.SUCCESS("Ledger OK: every invariant holds."))
