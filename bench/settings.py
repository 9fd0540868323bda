"""The settings of the bench's servers: the project's own, plus the bench-only views of bench/urls.py."""

from contrib_budget.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
