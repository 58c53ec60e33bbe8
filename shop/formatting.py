"""Formatting at the edge: money in VND, dates and times in Vietnam time."""

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import overload
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
_BABEL_LOCALES = {"vi": "vi_VN", "en": "en_US"}


def utcnow() -> datetime:
    """Timezone-aware current time in UTC (what the database stores)."""
    return datetime.now(UTC)


@overload
def as_utc(moment: datetime) -> datetime: ...
@overload
def as_utc(moment: None) -> None: ...
@overload
def as_utc(moment: datetime | None) -> datetime | None: ...
def as_utc(moment: datetime | None) -> datetime | None:
    """SQLite hands timestamps back without their zone; they were stored in UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


# What a `datetime-local` input sends, or what people type, for a Vietnam time.
VN_DATETIME_INPUTS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M")


def vn_local_to_utc(local: datetime) -> datetime:
    """A wall-clock time typed in Vietnam (naive) as an aware UTC datetime."""
    if local.tzinfo is None:
        local = local.replace(tzinfo=VN_TZ)
    return local.astimezone(UTC)


def utc_to_vn_local(moment: datetime) -> datetime:
    """The naive Vietnam wall-clock time of a stored instant."""
    return as_utc(moment).astimezone(VN_TZ).replace(tzinfo=None)


def parse_vn_datetime(text: str, formats: tuple[str, ...] = VN_DATETIME_INPUTS) -> datetime:
    """A date and time picked or typed in Vietnam time, as an aware UTC datetime;
    ValueError if it matches none of `formats`."""
    value = (text or "").strip()
    for fmt in formats:
        try:
            return vn_local_to_utc(datetime.strptime(value, fmt))
        except ValueError:
            continue
    raise ValueError(text)


def vn_input_value(moment: datetime) -> str:
    """A stored instant as a `datetime-local` input shows it, in Vietnam time."""
    return utc_to_vn_local(moment).strftime("%Y-%m-%dT%H:%M")


def today_vn(now: datetime | None = None) -> date:
    """The calendar date in Vietnam at `now` (default: this instant)."""
    return (now or utcnow()).astimezone(VN_TZ).date()


def next_vn_midnight(now: float) -> float:
    """The next midnight in Vietnam after `now` (epoch seconds), as epoch seconds."""
    local = datetime.fromtimestamp(now, VN_TZ)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), VN_TZ)
    return midnight.timestamp()


def to_vn(moment: datetime) -> datetime:
    """Convert a UTC datetime (naive values are taken as UTC) to Vietnam time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(VN_TZ)


def vnd(amount: int, locale: str = "vi") -> str:
    """Format whole đồng: 120000 -> "120.000 ₫" (vi) or "₫120,000" (en)."""
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise TypeError(f"money must be an int of đồng, got {type(amount).__name__}")
    return _vnd(amount, locale)


def _vnd(amount: int, locale: str) -> str:
    """CLDR's VND patterns for our two languages ("#,##0 ¤" with "." and a no-break space
    in vi_VN, "¤#,##0" in en_US; the đồng has no minor unit), written out: Babel's
    format_currency took ~0.1 ms a call, a listing shows ~50 prices and at 1,000,000
    products most are new to the process. tests/unit/test_formatting.py checks them
    against Babel."""
    digits = f"{abs(amount):,}"
    sign = "-" if amount < 0 else ""
    if locale == "en":
        return f"{sign}₫{digits}"
    return f"{sign}{digits.replace(',', '.')}\xa0₫"


def rating(value: float, locale: str = "vi") -> str:
    """An average rating with one decimal: 4.66 -> "4,7" (vi) or "4.7" (en)."""
    text = f"{value:.1f}"
    return text if locale == "en" else text.replace(".", ",")


def compact_count(n: int, locale: str = "vi") -> str:
    """A count as the big marketplaces print it beside "Đã bán": 35, 1,2k, 12k, 1,2tr
    (vi) or 35, 1.2k, 12k, 1.2M (en). Rounded down, so a count is never overstated."""
    if n < 1000:
        return str(max(n, 0))
    unit, size = ("tr" if locale != "en" else "M", 1_000_000) if n >= 1_000_000 else ("k", 1000)
    tenths = n * 10 // size
    text = str(tenths // 10) if tenths >= 100 or tenths % 10 == 0 else f"{tenths // 10}.{tenths % 10}"
    return (text if locale == "en" else text.replace(".", ",")) + unit


@lru_cache(maxsize=4096)
def vn_date(value: date, locale: str = "vi") -> str:
    """dd/mm/yyyy in both languages (the Vietnamese convention)."""
    return format_date(value, "dd/MM/yyyy", locale=_BABEL_LOCALES.get(locale, "vi_VN"))


def vn_datetime(moment: datetime, locale: str = "vi") -> str:
    """dd/mm/yyyy HH:mm, 24-hour clock, in Vietnam time."""
    return format_datetime(to_vn(moment), "dd/MM/yyyy HH:mm", locale=_BABEL_LOCALES.get(locale, "vi_VN"))
