"""The project's URLs plus two bench-only views, served only under bench.settings.

`replay/<name>/` is the limit of the read cases: a minimal Django view that runs the SQL a real page ran (as
captured in process by bench.cases.http) and returns the bytes that page returned.
"""

import base64
import json
import os
from functools import cache

from django.db import connection
from django.http import HttpResponse
from django.urls import path

from contrib_budget.urls import handler400, handler404, handler500  # noqa: F401 - the project's error views
from contrib_budget.urls import urlpatterns as project_urlpatterns


@cache
def _recordings() -> dict:
    with open(os.environ["BENCH_REPLAY_FILE"], encoding="utf-8") as file:
        return json.load(file)


def replay(request, name: str) -> HttpResponse:
    recording = _recordings()[name]
    with connection.cursor() as cursor:
        for sql in recording["sql"]:
            cursor.execute(sql)
            cursor.fetchall()
    return HttpResponse(base64.b64decode(recording["body"]), content_type=recording["content_type"])


def ping(request) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [
    path("bench/replay/<slug:name>/", replay),
    path("bench/ping/", ping),
    *project_urlpatterns,
]
