"""Run a function in many real threads at once, each on its own DB connection."""

import threading
from typing import Any, Callable

from django.db import connection


def run_concurrently(function: Callable[[int], Any], count: int, timeout: float = 60.0) -> tuple[list, list]:
    """Start `count` threads that call `function(i)` together; return (results, errors).

    A barrier releases every thread at the same moment so their database work
    overlaps; each thread closes its own connection when it is done.
    """
    barrier = threading.Barrier(count)
    lock = threading.Lock()
    results: list = []
    errors: list = []

    def target(index: int) -> None:
        try:
            barrier.wait(timeout)
            outcome = function(index)
        except Exception as error:  # noqa: BLE001 - collected for the test to inspect
            with lock:
                errors.append(error)
        else:
            with lock:
                results.append(outcome)
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread did not finish in time"
    return results, errors
