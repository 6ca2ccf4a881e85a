"""Settings, read from the environment when the app factory runs (never at import)."""
import os

DEFAULT_SECRET_KEY = "dev-secret-change-me"
# Rows a sender claims at a time: each claim and its writes cost the same for 100 rows as for 500, so a larger batch
# spends less of a sender's CPU per message (#19: 1.18 -> 1.00 ms a message in the 100,000-member push).
DEFAULT_OUTBOX_BATCH = 500

# Business rules that are configuration, not code. Each domain reads its own block.
POINT_RULES = {
    # 学习积分, in the spirit of 学习强国: per item studied and per minutes studied, each capped per day.
    "material_studied": {"points": 1, "daily_cap": 6},
    "study_minutes": {"points": 1, "per_minutes": 4, "daily_cap": 8},
    "quiz_full_marks": {"points": 8},
    "quiz_passed": {"points": 6},
    "quiz_taken": {"points": 2},
    "quota_talk_given": {"points": 10},
    "quota_exchange_attended": {"points": 3},
    "quota_book_read": {"points": 5},
}

SCHEDULE = {
    # Asia/Shanghai wall-clock times for the scheduler's jobs.
    "daily_material": {"hour": 8, "minute": 0},
    # Every branch's list today and its members' streaks, into the cache before the morning (a restart catches it up).
    "reading_day": {"hour": 0, "minute": 5},
    # Quizzes open whenever their owner set: each is announced at the first run after it opens, and only in the
    # day (08:00–21:45), so a quiz opening Monday 00:00 or at 23:00 is announced at 08:00.
    "quiz_open": {"hour": "8-21", "minute": "*/15"},
    "quiz_reminder_thu": {"day_of_week": "thu", "hour": 20, "minute": 0},
    "quiz_reminder_sun": {"day_of_week": "sun", "hour": 12, "minute": 0},
    # Closes move too: closing, grading and the results notice follow within minutes, any hour (the senders
    # hold pushes in a member's quiet hours).
    "quiz_results": {"minute": "*/5"},
    "quota_monthly": {"day": 1, "hour": 9, "minute": 0},
    "quota_quarterly": {"month": "1,4,7,10", "day": 1, "hour": 9, "minute": 30},
    # Talks and attendance are paid once their exchange has ended: each run pays every exchange ended since.
    "quota_settle": {"minute": "*/5"},
    "secretary_digest": {"day_of_week": "mon", "hour": 9, "minute": 0},
}


# Subscribe-message templates by purpose: the template id (from the mini-program's admin console) and the
# type of each key, which decides how values are cut to WeChat's limits. Defaults are the fake's ids.
WECHAT_TEMPLATES = {
    "study_material": {"template_id": "tmpl-study-material",
                       "keys": {"thing1": "thing", "date2": "date", "thing3": "thing"}},
    "quiz_open": {"template_id": "tmpl-quiz-open", "keys": {"thing1": "thing", "time2": "time", "thing3": "thing"}},
    "quiz_reminder": {"template_id": "tmpl-quiz-reminder",
                      "keys": {"thing1": "thing", "time2": "time", "thing3": "thing"}},
    "quiz_result": {"template_id": "tmpl-quiz-result",
                    "keys": {"thing1": "thing", "number2": "number", "phrase3": "phrase", "thing4": "thing"}},
    "task_reminder": {"template_id": "tmpl-task-reminder",
                      "keys": {"thing1": "thing", "time2": "time", "name3": "name", "thing4": "thing"}},
}


def _env(name, default=None):
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _int(name, default):
    return int(_env(name, default))


def load(overrides=None):
    """Build the settings dict from the environment, then apply explicit overrides."""
    app_env = _env("APP_ENV", "development")
    instance = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "instance")
    settings = {
        "APP_ENV": app_env,
        "TESTING": app_env == "testing",
        "SECRET_KEY": _env("SECRET_KEY", DEFAULT_SECRET_KEY),
        "DATABASE_URL": _env("DATABASE_URL"),
        "REDIS_URL": _env("REDIS_URL"),
        "INSTANCE_DIR": _env("INSTANCE_DIR", instance),
        "WECHAT_APPID": _env("WECHAT_APPID", "wx-demo-appid" if app_env != "production" else None),
        "WECHAT_SECRET": _env("WECHAT_SECRET", "demo-app-secret" if app_env != "production" else None),
        "WECHAT_API_BASE": _env("WECHAT_API_BASE", "https://api.weixin.qq.com"),
        "WECOM_API_BASE": _env("WECOM_API_BASE", "https://qyapi.weixin.qq.com"),
        "WECHAT_TIMEOUT": float(_env("WECHAT_TIMEOUT", "5")),
        "MINIPROGRAM_STATE": _env("MINIPROGRAM_STATE", "formal"),
        "TOKEN_TTL_SECONDS": _int("TOKEN_TTL_SECONDS", 7 * 24 * 3600),
        # The longest a hot-read entry (a session, a quiz state, today's list) lives in Redis; changes make it stale
        # at once (core.fresh), so this only bounds what a change made while Redis was unreachable can leave.
        "HOT_CACHE_SECONDS": _int("HOT_CACHE_SECONDS", 300),
        # A pooled PostgreSQL connection idle this long is pinged before use (core.pool); one in steady use is not.
        "DB_PING_IDLE_SECONDS": _int("DB_PING_IDLE_SECONDS", 5),
        "BUSINESS_TZ": "Asia/Shanghai",
        "MAX_CONTENT_LENGTH": _int("MAX_UPLOAD_BYTES", 5 * 1024 * 1024),
        "IMPORT_MAX_ROWS": _int("IMPORT_MAX_ROWS", 20000),
        # A stalled Redis costs a request at most one of these (no retries; later calls in the request fail at once).
        "REDIS_SOCKET_TIMEOUT": float(_env("REDIS_SOCKET_TIMEOUT", "0.5")),
        "REDIS_CONNECT_TIMEOUT": float(_env("REDIS_CONNECT_TIMEOUT", "0.5")),
        "RATELIMIT_LOGIN_IP": _env("RATELIMIT_LOGIN_IP", "30 per minute"),
        "RATELIMIT_LOGIN_OPENID": _env("RATELIMIT_LOGIN_OPENID", "10 per minute"),
        "RATELIMIT_WRITES": _env("RATELIMIT_WRITES", "120 per minute"),
        "RATELIMIT_ENABLED": _env("RATELIMIT_ENABLED", "1") == "1",
        "POINT_RULES": POINT_RULES,
        "SCHEDULE": SCHEDULE,
        "READ_SECONDS_PER_MINUTE": _int("READ_SECONDS_PER_MINUTE", 30),
        "READ_MIN_SECONDS": _int("READ_MIN_SECONDS", 30),
        **_quiz_settings(),
        **_quota_settings(),
        **_console_settings(),
        "QUIET_HOURS": (_env("QUIET_START", "22:00"), _env("QUIET_END", "07:00")),
        "OUTBOX_MAX_ATTEMPTS": _int("OUTBOX_MAX_ATTEMPTS", 6),
        "OUTBOX_LEASE_SECONDS": _int("OUTBOX_LEASE_SECONDS", 60),
        "OUTBOX_BACKOFF_SECONDS": _int("OUTBOX_BACKOFF_SECONDS", 30),
        "OUTBOX_BATCH": _int("OUTBOX_BATCH", DEFAULT_OUTBOX_BATCH),
        "WECHAT_TEMPLATES": WECHAT_TEMPLATES,
        "WECOM_PER_MINUTE": _int("WECOM_PER_MINUTE", 20),
        "SCHEDULER_LEADER_TTL": _int("SCHEDULER_LEADER_TTL", 30),
        # On start the scheduler runs each job missed during downtime that still makes sense (CATCH_UP_HOURS);
        # 0 skips that, for a copy of the data whose missed runs must not reach members (and for the bench's push).
        "SCHEDULER_CATCH_UP": _env("SCHEDULER_CATCH_UP", "1") == "1",
        "LOG_LEVEL": _env("LOG_LEVEL", "INFO"),
        "LOG_FORMAT": _env("LOG_FORMAT", "text"),
        # Reverse proxies in front of the app whose X-Forwarded-For/-Proto (and X-Request-ID) are trusted.
        "PROXY_HOPS": _int("PROXY_HOPS", 0),
    }
    settings.update(overrides or {})
    if not settings["DATABASE_URL"]:
        os.makedirs(settings["INSTANCE_DIR"], exist_ok=True)
        settings["DATABASE_URL"] = "sqlite:///" + os.path.join(settings["INSTANCE_DIR"], "branch_study.db")
    settings["SQLALCHEMY_DATABASE_URI"] = _normalise_db_url(settings["DATABASE_URL"])
    settings["SQLALCHEMY_ENGINE_OPTIONS"] = _engine_options(settings["SQLALCHEMY_DATABASE_URI"])
    if settings["APP_ENV"] == "production":
        check_production(settings)
    return settings


def _quiz_settings():
    return {
        # Seconds a phone may be late past an attempt's deadline and still have its last answers saved.
        "QUIZ_GRACE_SECONDS": _int("QUIZ_GRACE_SECONDS", 60),
        "QUIZ_AVOID_WEEKS": _int("QUIZ_AVOID_WEEKS", 4),
    }


def _quota_settings():
    return {
        "QUOTA_DEFAULTS": {"talks": _int("QUOTA_TALKS", 1), "attends": _int("QUOTA_ATTENDS", 4),
                           "books": _int("QUOTA_BOOKS", 1)},
        "QUOTA_REFLECTION_MIN_CHARS": _int("QUOTA_REFLECTION_MIN_CHARS", 100),
        "QUOTA_CHECKIN_MARGIN_MINUTES": _int("QUOTA_CHECKIN_MARGIN_MINUTES", 15),
        "QUOTA_CHECKIN_MAX_WRONG": _int("QUOTA_CHECKIN_MAX_WRONG", 5),
        "QUOTA_CHECKIN_WRONG_WINDOW_SECONDS": _int("QUOTA_CHECKIN_WRONG_WINDOW_SECONDS", 600),
    }


def _console_settings():
    return {
        # The JSON API under /api/v1 authenticates with bearer tokens, which a browser never sends by itself, so
        # it needs no CSRF token; only the console's cookie-authenticated forms are checked (in the blueprint).
        "WTF_CSRF_CHECK_DEFAULT": False,
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "CONSOLE_LOGIN_RATE": "10 per minute",
        "CONSOLE_LOCKOUT_FAILURES": 5,
        "CONSOLE_LOCKOUT_MINUTES": 15,
        "CONSOLE_SESSION_HOURS": 8,
        "CONSOLE_RANKING_PER_PAGE": 50,
        "CONSOLE_SERIES_TTL": 300,  # seconds the finished weeks of the 12-week charts are cached
    }


def _normalise_db_url(url):
    # One driver for PostgreSQL: psycopg 3, whatever scheme the operator wrote.
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _engine_options(url):
    if url.startswith("sqlite"):
        # WAL and a busy timeout let the web process, scheduler and sender share one file.
        return {"connect_args": {"timeout": 30, "check_same_thread": False}}
    return {"pool_size": 10, "max_overflow": 10, "pool_recycle": 1800}  # pinged when idle: core.pool


def check_production(settings):
    """Refuse to run production on defaults: a known secret, no WeChat credentials, or embedded stores."""
    problems = []
    if settings["SECRET_KEY"] == DEFAULT_SECRET_KEY or len(settings["SECRET_KEY"]) < 32:
        problems.append("SECRET_KEY must be set to a random value of at least 32 characters")
    if not settings.get("WECHAT_APPID") or not settings.get("WECHAT_SECRET"):
        problems.append("WECHAT_APPID and WECHAT_SECRET must be set")
    if settings["DATABASE_URL"].startswith("sqlite"):
        problems.append("DATABASE_URL must point at PostgreSQL, not SQLite")
    if not settings.get("REDIS_URL"):
        problems.append("REDIS_URL must be set; the in-process fakeredis is for development only")
    if problems:
        raise RuntimeError("拒绝以生产模式启动 (refusing to start in production): " + "; ".join(problems))
