"""The WSGI entry point: what a server process loads before its first request."""

import json
import os
import subprocess
import sys

from django.conf import settings

LOADED = """
import gc, json, sys
import contrib_budget.wsgi
print(json.dumps({"frozen": gc.get_freeze_count(), "views": "contributions.api" in sys.modules}))
"""


def test_the_views_are_imported_and_set_aside_from_the_garbage_collector():
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "contrib_budget.settings", "SECRET_KEY": "x"}
    output = subprocess.run([sys.executable, "-c", LOADED], env=environment, capture_output=True, text=True,
                            check=True, cwd=settings.BASE_DIR).stdout
    loaded = json.loads(output.strip().splitlines()[-1])
    assert loaded["views"]
    assert loaded["frozen"] > 50_000
