"""What every bench case shares: the scale it runs at, how a figure is measured, and the row it reports.

Every figure is a ratio to a limit measured in the same run (raw psycopg, set-based SQL, COPY, a minimal Django
view), interleaved with it and repeated, so that the machine's speed cancels out.
"""

import os
import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Scale:
    name: str
    collectives: int
    people: int
    declarations: int
    ledger_entries: int
    closing_sizes: tuple[int, int]  # declarations in the small and the big period closed
    round_buckets: int
    round_allocations: int
    export_entries: int
    clients: tuple[int, ...]  # concurrent clients of the allocation case
    read_clients: int
    repeats: int  # at least three: each figure is a median
    seconds: float = 2.0  # how long each timed run of a load case lasts


SCALES = {
    # CI's run: every case once through, in a couple of minutes, so that the bench never rots.
    "smoke": Scale("smoke", collectives=3, people=60, declarations=600, ledger_entries=2_000,
                   closing_sizes=(50, 200), round_buckets=10, round_allocations=100, export_entries=2_000,
                   clients=(10,), read_clients=5, repeats=3, seconds=0.3),
    "small": Scale("small", collectives=5, people=200, declarations=5_000, ledger_entries=20_000,
                   closing_sizes=(500, 5_000), round_buckets=100, round_allocations=2_000, export_entries=20_000,
                   clients=(20, 50), read_clients=20, repeats=3),
    "large": Scale("large", collectives=1_000, people=20_000, declarations=500_000, ledger_entries=2_000_000,
                   closing_sizes=(10_000, 100_000), round_buckets=1_000, round_allocations=20_000,
                   export_entries=1_000_000, clients=(20, 200), read_clients=50, repeats=3),
}


@dataclass
class Row:
    """One line of the table: our figure, the limit measured beside it, and the goal their ratio must meet.

    `higher_is_better` is true for throughputs (ratio = ours / limit must be >= goal) and false for durations
    and sizes (ratio = ours / limit must be <= goal).
    """

    case: str
    ours: float
    limit: float
    unit: str
    goal: float
    higher_is_better: bool
    extra: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.ours / self.limit if self.limit else float("inf")

    @property
    def ok(self) -> bool:
        if self.extra.get("violations"):
            return False
        return self.ratio >= self.goal if self.higher_is_better else self.ratio <= self.goal

    def as_dict(self) -> dict:
        return {**asdict(self), "ratio": round(self.ratio, 3), "ok": self.ok}


def median_of(measure: Callable[[], float], repeats: int) -> float:
    return statistics.median(measure() for _ in range(max(repeats, 3)))


def interleaved_medians(ours: Callable[[], float], limit: Callable[[], float], repeats: int) -> tuple[float, float]:
    """Median of each, run in turns (ours, limit, ours, limit...) so that a slower minute hits both."""
    ours_runs, limit_runs = [], []
    for _ in range(max(repeats, 3)):
        ours_runs.append(ours())
        limit_runs.append(limit())
    return statistics.median(ours_runs), statistics.median(limit_runs)


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
