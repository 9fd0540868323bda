"""The in-process batch cases of `make bench`: closing a period, closing a round, exporting the journal.

Each figure is a median of our public function against its limit (set-based SQL writing the same rows, or COPY
of the same rows) measured in turns, each run on fresh data seeded outside the clock (batch_closing,
batch_round, batch_export). Peaks of memory are measured in child processes (batch_child), so that they are the
work's own and not what the bench itself holds.

Memory of a period closing: the row compares the peak resident memory of a child closing the big period with
that of a child closing the small one (goal: at most 1.5 times), each peak taken during the work (the child resets
it first: Django's start peaks higher than a small closing). Whole-process peaks, not the growth above the
process's start: both children carry the same Django process (about 100 MB), so a closing that holds a bounded
batch at a time shows a ratio near 1, while one that holds a Python object per declaration grows with the
declarations and crosses 1.5 once they take half the baseline again; the growth alone would be a ratio of a
few megabytes, mostly noise, at the small scale. The growth is reported beside it (extra).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.harness import Row, Scale, interleaved_medians
from contrib_budget import scopes

from . import batch_closing, batch_export, batch_round
from .batch_seed import People, people_seed, sql_timed

ROOT = Path(__file__).resolve().parents[2]
MEMORY_GOAL = 1.5
EXPORT_PEAK_MB = 250
EXPORT_GOALS = {"CSV": 3, "XLSX": 10, "FEC": 3}


def cases(scale: Scale, database_url: str) -> list[Row]:
    with scopes.every_collective():
        people = people_seed(scale.people)
        return (_closing_rows(scale, database_url, people) + _round_rows(scale, database_url, people)
                + _export_rows(scale, database_url, people))


def child_run(database_url: str, *args: object) -> dict:
    """Run bench.cases.batch_child on the same database; its report (peak memory, in MB)."""
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_OWNER_URL"}
    env.update(DATABASE_URL=database_url, DJANGO_SETTINGS_MODULE="contrib_budget.settings")
    done = subprocess.run([sys.executable, "-m", "bench.cases.batch_child", *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"batch_child {args} failed: {done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


class _Labels:
    """A new label for each seeded collective of one case (slugs are unique)."""

    def __init__(self, case: str):
        self.case, self.count = case, 0

    def __call__(self, side: str) -> str:
        self.count += 1
        return f"{self.case}-{side}-{self.count}"


def _closing_rows(scale: Scale, database_url: str, people: People) -> list[Row]:
    rows, ours = [], {}
    for size in scale.closing_sizes:
        label = _Labels(f"closing-{size}")

        def ours_once(size=size, label=label) -> float:
            return batch_closing.close_ours(batch_closing.period_seed(people, size, label("ours")))

        def limit_once(size=size, label=label) -> float:
            period = batch_closing.period_seed(people, size, label("limit"))
            return sql_timed(database_url, batch_closing.closing_statements(period))

        ours[size], limit = interleaved_medians(ours_once, limit_once, scale.repeats)
        rows.append(Row(f"period closing {size}", ours[size], limit, "s", 3, False,
                        {"declarations": size, "people": len(people.ids)}))
    small, big = scale.closing_sizes
    rows.append(Row(f"period closing {big}/{small}", ours[big] / ours[small], big / small, "x", 1.1, False,
                    {"ours_small_s": ours[small], "ours_big_s": ours[big]}))
    peaks = {size: child_run(database_url, "close", batch_closing.period_seed(people, size, f"memory-{size}").pk)
             for size in scale.closing_sizes}
    rows.append(Row(f"period closing memory {big}/{small}", peaks[big]["peak_mb"], peaks[small]["peak_mb"], "MB",
                    MEMORY_GOAL, False, {f"growth_mb_{size}": round(peak["peak_mb"] - peak["baseline_mb"], 1)
                                         for size, peak in peaks.items()}))
    return rows


def _round_rows(scale: Scale, database_url: str, people: People) -> list[Row]:
    label = _Labels("round")
    coordinator = people.coordinator

    def seeded(side: str):
        return batch_round.round_seed(people, scale.round_buckets, scale.round_allocations, label(side))

    def ours_once() -> float:
        return batch_round.close_ours(seeded("ours"), coordinator)

    def limit_once() -> float:
        return sql_timed(database_url, batch_round.closing_statements(seeded("limit"), coordinator))

    ours, limit = interleaved_medians(ours_once, limit_once, scale.repeats)
    return [Row(f"round closing {scale.round_buckets} buckets {scale.round_allocations} allocations", ours, limit,
                "s", 3, False, {"buckets": scale.round_buckets, "allocations": scale.round_allocations})]


def _export_rows(scale: Scale, database_url: str, people: People) -> list[Row]:
    collective = batch_export.journal_seed(people, scale.export_entries, "journal")
    entries = 2 * max(1, scale.export_entries // 2)
    requests = batch_export.export_params(collective)
    copies = batch_export.copy_statements(collective)
    rows, peaks = [], {}
    for name, (kind, fmt, params) in requests.items():
        statement, copy_params = copies[name]
        ours, limit = interleaved_medians(
            lambda kind=kind, fmt=fmt, params=params: batch_export.export_ours(
                collective, people.coordinator, kind, fmt, params, entries),
            lambda statement=statement, copy_params=copy_params: batch_export.copy_limit(
                database_url, statement, copy_params),
            scale.repeats)
        rows.append(Row(f"journal export {entries} {name}", ours, limit, "s", EXPORT_GOALS[name], False,
                        {"entries": entries}))
        export = batch_export.export_create(collective, people.coordinator, kind, fmt, params)
        peaks[name] = child_run(database_url, "export", export.pk)["peak_mb"]
        batch_export.export_finished(export, entries)
    rows.append(Row(f"journal export {entries} peak RSS", max(peaks.values()), EXPORT_PEAK_MB, "MB", 1, False,
                    {f"peak_mb_{name}": peak for name, peak in peaks.items()}))
    return rows
