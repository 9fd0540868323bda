"""The real servers the HTTP cases load: gunicorn and Celery workers on the bench's PostgreSQL and Redis.

Each runs in its own process group with its output in a log file; `Servers` stops every process it started
(SIGTERM, then SIGKILL after a grace period), even when a case fails.
"""

import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GUNICORN_WORKERS = int(os.environ.get("BENCH_GUNICORN_WORKERS", "2"))
GUNICORN_THREADS = int(os.environ.get("BENCH_GUNICORN_THREADS", "4"))
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServerFailed(RuntimeError):
    pass


class Servers:
    """A context manager: `web()` and `worker()` start one more of each; leaving stops them all."""

    def __init__(self, env: dict[str, str]):
        self.env = env
        self.logs = Path(tempfile.mkdtemp(prefix="bench-logs-"))
        self.processes: list[tuple[str, subprocess.Popen]] = []
        self.ports: list[int] = []

    def __enter__(self) -> "Servers":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop_all()

    def _start(self, name: str, command: list[str]) -> subprocess.Popen:
        with open(self.logs / f"{name}.log", "wb") as log:  # the child keeps its own descriptor
            process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
        self.processes.append((name, process))
        return process

    def web(self) -> int:
        """Start one more gunicorn (its own port); return the port once it answers."""
        port = free_port()
        name = f"gunicorn-{len(self.ports) + 1}"
        process = self._start(name, [
            sys.executable, "-m", "gunicorn", "contrib_budget.wsgi", "--bind", f"127.0.0.1:{port}",
            "--workers", str(GUNICORN_WORKERS), "--threads", str(GUNICORN_THREADS), "--worker-class", "gthread",
            "--keep-alive", "30", "--graceful-timeout", "5", "--log-level", "warning",
        ])
        self._wait(name, process, lambda: _answers(port))
        self.ports.append(port)
        return port

    def worker(self) -> str:
        """Start one more Celery worker; return its name once it answers a ping."""
        name = f"bench{sum(1 for n, _ in self.processes if '@' in n) + 1}@bench"
        process = self._start(name, [
            sys.executable, "-m", "celery", "-A", "contrib_budget", "worker", "-n", name, "--concurrency", "2",
            "--loglevel", "warning", "--without-gossip", "--without-mingle",
        ])
        self._wait(name, process, lambda: _pongs(name))
        return name

    def _wait(self, name: str, process: subprocess.Popen, healthy, timeout: float = 60) -> None:
        limit = time.monotonic() + timeout
        while time.monotonic() < limit:
            if process.poll() is not None:
                raise ServerFailed(f"{name} exited with {process.returncode}:\n{self.tail(name)}")
            if healthy():
                return
            time.sleep(0.2)
        raise ServerFailed(f"{name} did not become healthy in {timeout:.0f} s:\n{self.tail(name)}")

    def tail(self, name: str, lines: int = 30) -> str:
        path = self.logs / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def stop_all(self) -> None:
        for _name, process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for _name, process in self.processes:
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()
        self.ports.clear()


def _answers(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", "/bench/ping/")
        return connection.getresponse().status == 200
    except OSError:
        return False


def _pongs(name: str) -> bool:
    from contrib_budget.celery import app

    try:
        return bool(app.control.ping(destination=[name], timeout=0.5))
    except Exception:  # the broker may not be reachable yet
        return False
