"""What every exporter shares: parameters, the range of dates, a registry of kinds.

An exporter is a small class with one method, `rows()`, that yields lists of
cells; `header()` names the columns and `count()` tells how many rows will
come (for the progress bar). Any writer (CSV, XLSX, FEC text) can write any
exporter, and `rows()` streams from the database so memory stays bounded.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Iterator
from zoneinfo import ZoneInfo

CHUNK_SIZE = 2000

REGISTRY: dict[str, type["Exporter"]] = {}


def register(cls: type["Exporter"]) -> type["Exporter"]:
    REGISTRY[cls.kind] = cls
    return cls


@dataclass(frozen=True)
class DateRange:
    """Inclusive dates, turned into [start, end) instants in the collective's time zone."""

    first: date | None
    last: date | None
    tz: ZoneInfo

    @property
    def start(self) -> datetime | None:
        return datetime.combine(self.first, time.min, tzinfo=self.tz) if self.first else None

    @property
    def end(self) -> datetime | None:
        return datetime.combine(self.last + timedelta(days=1), time.min, tzinfo=self.tz) if self.last else None

    def filter_kwargs(self, field: str) -> dict:
        kwargs = {}
        if self.start:
            kwargs[f"{field}__gte"] = self.start
        if self.end:
            kwargs[f"{field}__lt"] = self.end
        return kwargs

    def date_filter_kwargs(self, field: str) -> dict:
        kwargs = {}
        if self.first:
            kwargs[f"{field}__gte"] = self.first
        if self.last:
            kwargs[f"{field}__lte"] = self.last
        return kwargs


def parse_date(value) -> date | None:
    if not value:
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value))


class Exporter(ABC):
    kind: str = ""
    formats: tuple[str, ...] = ("csv", "xlsx")

    def __init__(self, *, collective, params: dict):
        self.collective = collective
        self.params = params
        self.tz = ZoneInfo(collective.timezone)
        self.range = DateRange(parse_date(params.get("from")), parse_date(params.get("to")), self.tz)

    @abstractmethod
    def header(self) -> list[str]:
        """The column names, in the order of `rows`."""

    @abstractmethod
    def rows(self) -> Iterator[list]:
        """Every row of the export, streamed from the database."""

    @abstractmethod
    def count(self) -> int:
        """How many rows `rows` yields, for the progress bar."""

    def filename(self, extension: str) -> str:
        parts = [self.collective.slug, self.kind]
        if self.range.first:
            parts.append(self.range.first.strftime("%Y%m%d"))
        if self.range.last:
            parts.append(self.range.last.strftime("%Y%m%d"))
        return "-".join(parts) + "." + extension

    def local_date(self, instant: datetime) -> date:
        return instant.astimezone(self.tz).date()

    def filter_id(self, name: str) -> int | None:
        value = self.params.get(name)
        return int(value) if value not in (None, "") else None
