"""What the suite needs to run in several pytest-xdist processes (`make test`: `-p tests.parallel -n 2 --dist
loadfile`).

- Each worker uses a Redis database of its own, so the cache, Celery's queues and its control messages of one
  worker's tests never reach another's (the test databases are apart already: pytest-django suffixes their names).
- The files that take minutes start first, so that none of them ends the run alone on one worker while the
  other has nothing left.
- Each of Schemathesis's tests (one per API operation) gets a node id of its own: Schemathesis names the
  operation in the test's name only, and xdist, which sends a file's tests to a worker by node id, would run one.
"""

import os
from collections import Counter
from urllib.parse import urlsplit, urlunsplit

import pytest

# The longest files first (pytest's --durations on the 2-core CI machine: the first three take about 5, 4 and 3
# minutes; the other two, over a minute each, in many tests).
LONGEST_FILES = ("tests/test_schemathesis.py", "tests/e2e/test_accessibility.py", "tests/test_migrations.py",
                 "tests/test_bounded_pages.py", "tests/test_crash_safety.py")


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return
    url = urlsplit(os.environ["REDIS_URL"])  # pytest-env, also tryfirst but registered later, has set its default
    database = int(url.path.strip("/") or 0) + int(worker.removeprefix("gw"))
    os.environ["REDIS_URL"] = urlunsplit(url._replace(path=f"/{database}"))


def pytest_collection_modifyitems(items):
    for item in items:
        operation = getattr(item, "operation_label", None)  # set by Schemathesis on the tests it generates
        if operation and item.id.params is None:
            item._id = item.id.with_params(operation)  # pytest's own node id, with the operation as its parameter
    rank = {path: index for index, path in enumerate(LONGEST_FILES)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))  # stable: a file keeps its order
    doubled = [node_id for node_id, count in Counter(item.nodeid for item in items).items() if count > 1]
    if doubled:
        raise pytest.UsageError(f"Tests sharing a node id would run once in parallel: {', '.join(doubled[:5])}")
