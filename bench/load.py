"""The load generator: N clients in threads, each on its own keep-alive connection, for a fixed time.

A client warms up (connects, runs one step) before the clock starts, so a figure counts steady work only.
"""

import http.client
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import psycopg


class Client(ABC):
    """One simulated client: `setup` once (not timed), then `step` as often as the time allows."""

    def setup(self) -> None:
        self.step()

    @abstractmethod
    def step(self) -> bool:
        """One request or transaction; whether it succeeded."""

    @abstractmethod
    def close(self) -> None:
        """Give back the client's connection."""


@dataclass
class Outcome:
    done: int = 0
    errors: int = 0
    seconds: float = 0.0
    statuses: dict = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0


def run(clients: Sequence[Client], seconds: float) -> Outcome:
    """Run every client at once for `seconds`; successful steps per second is the figure."""
    outcome, lock = Outcome(), threading.Lock()
    failures: list[BaseException] = []
    clock = {"start": 0.0, "deadline": 0.0}

    def start_clock() -> None:
        clock["start"] = time.perf_counter()
        clock["deadline"] = clock["start"] + seconds

    ready = threading.Barrier(len(clients), action=start_clock)

    def loop(client: Client) -> None:
        done = errors = 0
        try:
            client.setup()
        except Exception as error:  # a client that cannot start fails the run, once the others are released
            failures.append(error)
        ready.wait()
        try:
            while not failures and time.perf_counter() < clock["deadline"]:
                if client.step():
                    done += 1
                else:
                    errors += 1
        finally:
            client.close()
            with lock:
                outcome.done += done
                outcome.errors += errors

    threads = [threading.Thread(target=loop, args=(client,), daemon=True) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcome.seconds = time.perf_counter() - clock["start"]
    if failures:
        raise RuntimeError(f"a client could not start: {failures[0]!r}") from failures[0]
    for client in clients:
        for status, count in getattr(client, "statuses", {}).items():
            outcome.statuses[status] = outcome.statuses.get(status, 0) + count
    return outcome


class HttpClient(Client):
    """Requests on one keep-alive connection; a step succeeds when the status is the one expected."""

    def __init__(self, port: int, method: str, path: str, headers: dict, body: Callable[[], bytes] | None = None,
                 expect: int = 200):
        self.port, self.method, self.path, self.headers, self.body, self.expect = (
            port, method, path, headers, body, expect)
        self.connection: http.client.HTTPConnection | None = None
        self.statuses: dict[int, int] = {}

    def step(self) -> bool:
        if self.connection is None:
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            self.connection.request(self.method, self.path, self.body() if self.body else None, self.headers)
            response = self.connection.getresponse()
            response.read()
        except (http.client.HTTPException, OSError):
            self.connection.close()
            self.connection = None
            self.statuses[0] = self.statuses.get(0, 0) + 1
            return False
        if response.getheader("Connection", "").lower() == "close":
            self.connection.close()
            self.connection = None
        self.statuses[response.status] = self.statuses.get(response.status, 0) + 1
        return response.status == self.expect

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()


class SqlClient(Client):
    """One psycopg connection; each step runs `work(connection)` in one transaction."""

    def __init__(self, database_url: str, work: Callable[[psycopg.Connection], None]):
        self.database_url, self.work = database_url, work
        self.connection: psycopg.Connection | None = None

    def step(self) -> bool:
        if self.connection is None:
            self.connection = psycopg.connect(self.database_url)
        try:
            with self.connection.transaction():
                self.work(self.connection)
        except psycopg.errors.DatabaseError:
            return False
        return True

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
