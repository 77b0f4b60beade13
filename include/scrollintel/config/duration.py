"""ISO 8601 durations (``P30D``, ``P7Y``, ``PT48H``) in governance files."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic_core import core_schema

_DURATION = re.compile(
    r"P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?"
)


@dataclass(frozen=True)
class Duration:
    """An ISO 8601 duration such as ``P30D``, ``P7Y`` or ``PT48H`` (positive, integer parts)."""

    text: str
    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0
    hours: int = 0
    minutes: int = 0
    seconds: int = 0

    @classmethod
    def parse(cls, text: object) -> Duration:
        """Parse ``text``; raises ValueError with an example of the expected form."""
        if isinstance(text, Duration):
            return text
        if not isinstance(text, str):
            raise ValueError(f"expected an ISO 8601 duration such as 'P30D', 'P7Y' or 'PT48H', got {text!r}")
        match = _DURATION.fullmatch(text.strip())
        if not match:
            raise ValueError(f"{text!r} is not an ISO 8601 duration such as 'P30D', 'P7Y' or 'PT48H'")
        parts = {key: int(value) for key, value in match.groupdict().items() if value}
        if not any(parts.values()):
            raise ValueError(f"duration {text!r} must be longer than zero")
        return cls(text=text.strip(), **parts)

    @property
    def is_calendar(self) -> bool:
        """True when the length depends on the calendar (years or months)."""
        return bool(self.years or self.months)

    def _clock_part(self) -> timedelta:
        return timedelta(weeks=self.weeks, days=self.days, hours=self.hours, minutes=self.minutes, seconds=self.seconds)

    def to_timedelta(self) -> timedelta:
        """The fixed length; only for durations without years or months."""
        if self.is_calendar:
            raise ValueError(f"duration {self.text!r} has years or months and no fixed length")
        return self._clock_part()

    def before(self, moment: datetime) -> datetime:
        """``moment`` minus this duration, calendar-aware (29 Feb minus P1Y is 28 Feb)."""
        month_index = moment.year * 12 + (moment.month - 1) - self.years * 12 - self.months
        year, month = divmod(month_index, 12)
        month += 1
        next_month = datetime(year + (month == 12), month % 12 + 1, 1)
        last_day = (next_month - timedelta(days=1)).day
        shifted = moment.replace(year=year, month=month, day=min(moment.day, last_day))
        return shifted - self._clock_part()

    def __str__(self) -> str:
        return self.text

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls.parse,
            json_schema_input_schema=core_schema.str_schema(),
            serialization=core_schema.plain_serializer_function_ser_schema(str),
        )


def fixed_length(value: Duration) -> Duration:
    """Reject a duration with years or months (a validator for fields that need a fixed length)."""
    if value.is_calendar:
        raise ValueError(f"{value.text!r}: use days, hours or minutes here, not years or months")
    return value
