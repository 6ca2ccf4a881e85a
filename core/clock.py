"""The one clock and the business calendar: UTC in storage, Asia/Shanghai for days, weeks and years."""
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

UTC = timezone.utc
TZ = ZoneInfo("Asia/Shanghai")

_frozen = None


def now():
    """Return the current time, timezone-aware UTC."""
    return _frozen if _frozen is not None else datetime.now(UTC)


def freeze(moment):
    """Pin the clock (tests and the scheduler's catch-up); None releases it."""
    global _frozen
    if moment is not None and moment.tzinfo is None:
        raise ValueError("freeze() needs an aware datetime")
    _frozen = moment.astimezone(UTC) if moment is not None else None


def local_now():
    """Return now in Asia/Shanghai."""
    return now().astimezone(TZ)


def today():
    """Return today's date in Asia/Shanghai."""
    return local_now().date()


def to_local(moment):
    return moment.astimezone(TZ)


def local_day_of(moment):
    """Return the Asia/Shanghai date of a UTC moment."""
    return moment.astimezone(TZ).date()


def day_bounds(day):
    """Return [start, end) of a local day, in UTC."""
    start = datetime.combine(day, time.min, TZ)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def week_key(day=None):
    """Return the ISO week of a local day as 'YYYY-Www'."""
    day = day or today()
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_monday(day=None):
    day = day or today()
    return day - timedelta(days=day.weekday())


def week_bounds(day=None):
    """Return [Monday 00:00, next Monday 00:00) of the ISO week holding a local day, in UTC."""
    monday = week_monday(day)
    return day_bounds(monday)[0], day_bounds(monday + timedelta(days=7))[0]


def monday_of_week_key(key):
    """Return the Monday of an ISO week key such as '2026-W48'."""
    year, week = key.split("-W")
    return date.fromisocalendar(int(year), int(week), 1)


def year_bounds(year):
    """Return [1 Jan 00:00, next 1 Jan 00:00) of a local year, in UTC."""
    return day_bounds(date(year, 1, 1))[0], day_bounds(date(year + 1, 1, 1))[0]


def month_bounds(year, month):
    first = date(year, month, 1)
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return day_bounds(first)[0], day_bounds(nxt)[0]


def format_cn(moment):
    """Format a moment the way WeChat templates and Chinese users expect: 2026年11月23日 08:00."""
    local = moment.astimezone(TZ)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"
