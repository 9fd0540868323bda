#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contrib_budget.settings")
    from django.core.management import execute_from_command_line

    from contrib_budget.scopes import every_collective

    # A command works for the system, across collectives (contrib_budget.scopes); the server it may start
    # serves each request in its own scope.
    with every_collective():
        execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
