"""Ranges of dates the accountant asks for: inclusive days, read in the collective's time zone."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


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
