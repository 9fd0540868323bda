"""What every exporter shares: parameters, the range of dates, a registry of kinds.

An exporter is a small class with one method, `rows()`, that yields lists of
cells; `header()` names the columns and `count()` tells how many rows will
come (for the progress bar). Any writer (CSV, XLSX, FEC text) can write any
exporter, and `rows()` streams from the database so memory stays bounded.
"""

from abc import ABC, abstractmethod
from datetime import date, datetime
from typing import Iterator
from zoneinfo import ZoneInfo

from ..dates import DateRange, parse_date

CHUNK_SIZE = 2000

REGISTRY: dict[str, type["Exporter"]] = {}


def register(cls: type["Exporter"]) -> type["Exporter"]:
    REGISTRY[cls.kind] = cls
    return cls


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

    def copy_query(self, fmt: str, options: dict) -> tuple[str, tuple] | None:
        """A SELECT (and its parameters) whose rows are the file's cells, as the format's writer would write
        `rows`, when PostgreSQL can write them itself with COPY (far faster on a large journal); else None."""
        return None

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
        if value is None or value == "":
            return None
        return int(value)
