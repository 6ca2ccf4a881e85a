"""Faults against a real PostgreSQL and Redis of our own (`make soak`; marked `soak`, skipped by `make test`).

Redis crashes under load → what needs it answers 503 in the error shape, the rest keeps working, then leaderboards and
the WeChat token cache rebuild. PostgreSQL restarts → clean 503s, then recovery without restarting the app. A sender
SIGKILLed mid-batch → nothing lost. The soak itself drives the production stack: bench/soak.py, also in `make soak`.
"""
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
from sqlalchemy import select

from bench.services import Postgres, Redis
from core import clock
from core.extensions import db
from members.auth import issue_token
from tests import factories
from tests.hardening.stack import Served

pytestmark = pytest.mark.soak
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHAPE = {"code", "message", "details"}


@pytest.fixture(scope="module")
def stack(fake_wechat):
    """Our own PostgreSQL + Redis, the migrated app served against them, and a seeded branch."""
    from flask_migrate import upgrade

    from core.app import create_app

    pg, redis = Postgres(), Redis()
    pg.start()
    redis.start()
    settings = {"APP_ENV": "testing", "TESTING": True, "SECRET_KEY": "soak-secret-" + "k" * 30,
                "DATABASE_URL": pg.url, "REDIS_URL": redis.url, "WECHAT_APPID": "wx-test-appid",
                "WECHAT_SECRET": "test-app-secret", "WECHAT_API_BASE": fake_wechat.base_url,
                "WECOM_API_BASE": fake_wechat.base_url, "RATELIMIT_ENABLED": False, "OUTBOX_LEASE_SECONDS": 3}
    app = create_app(settings)
    with app.app_context():
        upgrade(revision="heads")
    served = Served(app)
    yield {"pg": pg, "redis": redis, "app": app, "served": served, "settings": settings}
    served.stop()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    redis.destroy()
    pg.destroy()


@pytest.fixture(scope="module")
def world(stack):
    """A committee with branch A1 of 120 members, today's material and this week's open quiz."""
    from tests.quizzes.helpers import make_bank

    app, served = stack["app"], stack["served"]
    with app.app_context():
        org = factories.standard_org()
        people = [org.member_a, org.member_a2, org.secretary_a] + [factories.member(org.branch_a)
                                                                     for _ in range(117)]
        tokens = {}
        for person in people + [org.admin_a]:
            tokens[person.id], _ = issue_token(person)
        db.session.commit()
        bank = make_bank(org.committee_a, branch=org.branch_a)
        ids = {"branch": org.branch_a.id, "admin": org.admin_a.id, "secretary": org.secretary_a.id,
               "members": [p.id for p in people], "questions": [q.id for q in bank]}
    secretary = tokens[ids["secretary"]]
    today = clock.today().isoformat()
    material = served.call("POST", "/api/v1/materials", secretary, json={
        "title": "学习贯彻全会精神", "day": today, "publish": True, "estimated_minutes": 1, "body": "坚持党的领导。"})
    assert material.status_code == 201, material.text
    quiz = served.call("POST", f"/api/v1/branches/{ids['branch']}/quizzes", secretary,
                       json={"question_ids": ids["questions"], "opens_at": clock.now().isoformat()})
    assert quiz.status_code in (200, 201), quiz.text
    return {**ids, "tokens": tokens, "material": material.json()["id"], "quiz": quiz.json()["id"]}


def _load(served, calls, seconds, rps=None):
    """Run (name, method, path, token, json) calls from several threads; return [(name, status, body)]."""
    results, stop, lock = [], time.monotonic() + seconds, threading.Lock()
    rng = random.Random(7)

    def worker():
        interval = 0 if rps is None else 4.0 / rps  # four threads share the rate
        while time.monotonic() < stop:
            with lock:
                name, method, path, token, body = calls[rng.randrange(len(calls))]
            started = time.monotonic()
            try:
                response = served.call(method, path, token, json=body)
                item = (name, response.status_code, response.json() if response.content else None)
            except Exception as exc:  # a refused connection is a failure the test reports
                item = (name, "exception", repr(exc))
            with lock:
                results.append(item)
            time.sleep(max(0.0, interval - (time.monotonic() - started)))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _assert_clean(results, must_succeed=()):
    """No 5xx but 503, every 503 in the error shape, and the named calls always 2xx."""
    for name, status, body in results:
        assert status != "exception", (name, body)
        assert status < 500 or status == 503, (name, status, body)
        if status == 503:
            assert set(body) == SHAPE and body["message"], (name, body)
        if name in must_succeed:
            assert 200 <= status < 300, (name, status, body)


def test_redis_crash_under_load_is_503_for_what_needs_it_and_caches_rebuild(stack, world, fake_wechat):
    served, app = stack["served"], stack["app"]
    member = world["tokens"][world["members"][0]]
    for who in world["members"][:5]:
        assert served.call("POST", f"/api/v1/materials/{world['material']}/reads", world["tokens"][who]).ok
    board = f"/api/v1/branches/{world['branch']}/leaderboard"
    before = served.call("GET", board, member)
    assert before.status_code == 200, before.text
    with app.app_context():
        from core import wechat
        wechat.access_token()
    token_fetches = sum(v for k, v in fake_wechat.calls().items() if "token" in k)
    calls = [("me", "GET", "/api/v1/me", member, None), ("today", "GET", "/api/v1/materials/today", member, None),
             ("board", "GET", board, member, None), ("healthz", "GET", "/healthz", None, None),
             ("read", "POST", f"/api/v1/materials/{world['material']}/reads", member, None)]
    stack["redis"].stop()
    down = _load(served, calls, 3)
    _assert_clean(down, must_succeed={"me", "healthz"})
    assert served.call("GET", "/readyz").status_code == 503
    statuses = Counter((n, s) for n, s, _ in down)
    stack["redis"].start()  # empty, as after a crash
    time.sleep(0.5)
    up = _load(served, calls, 2)
    _assert_clean(up, must_succeed={name for name, *_ in calls})
    after = served.call("GET", board, member)
    assert after.status_code == 200 and after.json()["entries"] == before.json()["entries"]
    with app.app_context():
        from core import wechat
        from core.cache import get_redis, key
        # A process keeps its own copy of the token for up to TOKEN_RECHECK_SECONDS; at its next re-check the shared
        # entry is gone, so it fetches one and stores it again. Dropping this process's copy is that moment.
        app.extensions["wechat_token"].clear()
        assert wechat.access_token()
        assert get_redis().get(key("wechat", "access_token"))
    assert sum(v for k, v in fake_wechat.calls().items() if "token" in k) > token_fetches  # the cache was rebuilt
    print("redis outage statuses:", dict(statuses))


def test_postgres_restart_gives_clean_503s_then_recovers_without_restarting_the_app(stack, world):
    served = stack["served"]
    member = world["tokens"][world["members"][1]]
    calls = [("me", "GET", "/api/v1/me", member, None), ("healthz", "GET", "/healthz", None, None),
             ("today", "GET", "/api/v1/materials/today", member, None)]
    assert served.call("GET", "/api/v1/me", member).status_code == 200
    stack["pg"].stop()
    down = _load(served, calls, 2)
    _assert_clean(down, must_succeed={"healthz"})
    assert any(s == 503 and b["code"] == "database_unavailable" for _, s, b in down)
    stack["pg"].start()
    deadline = time.monotonic() + 20
    while served.call("GET", "/api/v1/me", member).status_code != 200:
        assert time.monotonic() < deadline, "the app did not recover after PostgreSQL came back"
        time.sleep(0.2)
    after = _load(served, calls, 2)
    _assert_clean(after, must_succeed={"me", "healthz", "today"})


def test_a_sender_killed_mid_batch_loses_nothing(stack, world, fake_wechat):
    """SIGKILL a real sender process while it delivers; a second sender finishes; nothing is sent twice or lost."""
    from notifications import services as notifications

    app, served = stack["app"], stack["served"]
    template = "tmpl-quiz-open"
    people = world["members"][10:40]
    with app.app_context():
        from members.models import Member
        for member_id in people:
            member = db.session.get(Member, member_id)
            member.openid = member.openid or f"soak-openid-{member_id}"
            db.session.commit()
            assert consent_ok(served, world["tokens"][member_id], template)
            # The run may fall in the default quiet hours (Asia/Shanghai night): these members opt out of them.
            assert served.call("PUT", "/api/v1/me/notification-preferences", world["tokens"][member_id],
                               json={"quiet_hours_enabled": False}).ok
            fake_wechat.grant_consent(member.openid, template)
            notifications.notify_member(member, "quiz_open", "soak-kill", {
                "title": "测验已开放", "body": "请作答", "page": "pages/index/index",
                "data": {"thing1": "本周测验", "time2": "2026-11-23 08:00", "thing3": "请按时完成"}})
        db.session.commit()
    fake_wechat.fault("/cgi-bin/message/subscribe/send", delay=0.2, times=len(people))
    env = {**os.environ, "DATABASE_URL": stack["pg"].url, "REDIS_URL": stack["redis"].url, "APP_ENV": "testing",
           "SECRET_KEY": stack["settings"]["SECRET_KEY"], "WECHAT_APPID": "wx-test-appid",
           "WECHAT_SECRET": "test-app-secret", "WECHAT_API_BASE": fake_wechat.base_url,
           "WECOM_API_BASE": fake_wechat.base_url, "OUTBOX_LEASE_SECONDS": "3"}
    argv = [sys.executable, "-m", "flask", "--app", "wsgi", "notifications", "send"]
    log_path = os.path.join(stack["pg"].dir, "sender.log")
    sender = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=open(log_path, "w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while len(fake_wechat.messages(template_id=template)) < 5:
        if time.monotonic() > deadline or sender.poll() is not None:
            with app.app_context():
                from notifications.models import Notification
                rows = db.session.execute(select(Notification.status, Notification.last_error).where(
                    Notification.member_id.in_(people))).all()
            pytest.fail(f"the sender delivered nothing: {rows[:5]} {open(log_path).read()[-2000:]}")
        time.sleep(0.05)
    os.kill(sender.pid, signal.SIGKILL)
    sender.wait(timeout=10)
    delivered_at_kill = len(fake_wechat.messages(template_id=template))
    assert delivered_at_kill < len(people), "the kill came too late to test anything"
    time.sleep(3.5)  # the dead sender's lease runs out
    subprocess.run(argv + ["--once"], cwd=ROOT, env=env, check=True, timeout=120, capture_output=True)
    received = Counter(m["touser"] for m in fake_wechat.messages(template_id=template))
    assert all(n == 1 for n in received.values()), "a message was sent twice"
    with app.app_context():
        from members.models import Member
        from notifications.models import SENT, UNCONFIRMED, Notification
        statuses = dict(db.session.execute(select(Member.openid, Notification.status)
                                           .join(Notification, Notification.member_id == Member.id)
                                           .where(Notification.member_id.in_(people),
                                                  Notification.kind == "quiz_open")).all())
    # Nothing lost: each is sent, or was in a call when the sender died — unconfirmed, still in the inbox.
    assert len(statuses) == len(people) and set(statuses.values()) <= {SENT, UNCONFIRMED}
    assert all(received.get(openid) == 1 for openid, status in statuses.items() if status == SENT)
    assert all(status == UNCONFIRMED for openid, status in statuses.items() if openid not in received)


def consent_ok(served, token, template):
    response = served.call("POST", "/api/v1/me/subscriptions", token, json={
        "request_id": f"soak-{time.monotonic_ns()}", "results": [{"template_id": template, "result": "accept"}]})
    return response.ok
