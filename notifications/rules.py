"""Pure rules of delivery: kinds, quiet hours, backoff, template data. No Flask, no database."""
from datetime import datetime, time, timedelta

from core.clock import TZ, UTC
from core.wechat import fit_template_value

# kind → (template purpose in WECHAT_TEMPLATES, essential?). Non-essential kinds are muted by a member who
# turns reminders off: they stay in the inbox but are not pushed. Digests and tallies are a secretary's duty.
KINDS = {
    "study_material": ("study_material", False),
    "quiz_open": ("quiz_open", True),
    "quiz_reminder": ("quiz_reminder", False),
    # A moved close amends the opening announcement (essential): a member who muted reminders must still hear
    # that the quiz now closes earlier.
    "quiz_close_moved": ("quiz_reminder", True),
    "quiz_result": ("quiz_result", True),
    "quota_reminder": ("task_reminder", False),
    "quota_tally": ("task_reminder", True),
    "secretary_digest": ("task_reminder", True),
    "reminder_reading": ("task_reminder", False),
    "reminder_quiz": ("quiz_reminder", False),
    "reminder_quota": ("task_reminder", False),
    "book_reviewed": ("task_reminder", True),  # the answer to the member's own request
    "branch_digest": (None, True),  # the WeCom group robot, no subscribe template
}

# Errors after which retrying the same message cannot help: wrong openid, template, page, or data.
PERMANENT_ERRCODES = frozenset({40003, 40037, 41030, 47003, 47001, 93000, 40008, 44004, 40058})
CONSENT_GONE = 43101
QUOTA_REACHED = 45009
ROBOT_TOO_FAST = 130101


def parse_hhmm(text):
    """Parse 'HH:MM' into a time; raise ValueError on anything else."""
    hours, _, minutes = text.partition(":")
    if len(hours) != 2 or len(minutes) != 2 or not (hours + minutes).isdigit():
        raise ValueError(f"not HH:MM: {text!r}")
    return time(int(hours), int(minutes))


def quiet_until(moment, start, end):
    """If `moment` (aware) falls in the quiet window [start, end) (local times; may wrap midnight), return
    the UTC moment the window ends; else None. start == end means no quiet hours."""
    if start == end:
        return None
    local = moment.astimezone(TZ)
    now_t = local.time().replace(tzinfo=None)
    if start < end:
        inside = start <= now_t < end
        end_day = local.date()
    else:  # wraps midnight, e.g. 22:00–07:00
        inside = now_t >= start or now_t < end
        end_day = local.date() + timedelta(days=1) if now_t >= start else local.date()
    if not inside:
        return None
    return datetime.combine(end_day, end, TZ).astimezone(UTC)


def backoff_seconds(attempts, base=30, cap=3600):
    """Seconds to wait after the n-th failed attempt: base·2^(n-1), at most cap."""
    return min(cap, base * 2 ** max(0, attempts - 1))


def template_data(keys, values, now):
    """Fit each value to its key's WeChat type; a missing value gets a neutral filler (WeChat needs every key)."""
    fillers = {"number": "0", "phrase": "请查看", "name": "支部", "time": now, "date": now.astimezone(TZ).date()}
    data = {}
    for name, key_type in keys.items():
        value = values.get(name)
        if value in (None, ""):
            value = fillers.get(key_type, "请查看")
        if key_type in ("time", "date") and isinstance(value, str):
            value = _as_moment(value)
        data[name] = fit_template_value(key_type, value)
    return data


def _as_moment(text):
    """An ISO date or date-time string (JSON payloads carry those) as a date or an aware datetime; naive
    date-times are Asia/Shanghai wall clock. Anything else (already '2026年11月23日 08:00') is left as is."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return text
    if len(text.strip()) == 10:
        return moment.date()
    return moment if moment.tzinfo else moment.replace(tzinfo=TZ)


def robot_markdown(title, lines):
    """A WeCom markdown message: a bold title and one line each."""
    body = "\n".join(f"> {line}" for line in lines)
    return f"**{title}**\n{body}"
