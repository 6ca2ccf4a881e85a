"""SIGTERM, as systemd sends it, to a real sender and a real scheduler mid-batch, then a restart: every message is
sent exactly once, nothing is left half-sent, the leader lock is released, and each process says it stopped.

Separate processes share the outbox and the leader lock only through PostgreSQL and Redis: this runs on the suite's
second pass (DATABASE_URL/REDIS_URL set), as .ci/run does.
"""
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from sqlalchemy import select

from core.cache import get_redis
from core.extensions import db
from members.auth import issue_token
from notifications.models import PENDING, SENT, Notification
from notifications.scheduler import LeaderLock
from tests import factories
from tests.deploy.conftest import ROOT, on_postgres
from tests.notifications.helpers import consent, queue

pytestmark = pytest.mark.skipif(not on_postgres(), reason="separate processes share work through PostgreSQL + Redis")

TEMPLATE = "tmpl-quiz-open"
PEOPLE = 30
SUBSCRIBE = "/cgi-bin/message/subscribe/send"


@pytest.fixture
def queued(app, client, org, fake_wechat):
    """PEOPLE members, each with one consented quiz notice due now; WeChat answers each send in 0.5 s, so a batch of
    10 takes 5 s and the stop lands mid-batch even on a loaded machine."""
    openids = []
    for i in range(PEOPLE):
        member = factories.member(org.branch_a)
        member.openid = f"stop-openid-{i}"
        token, _ = issue_token(member)
        db.session.commit()
        headers = {"Authorization": "Bearer " + token}
        assert consent(client, headers, TEMPLATE).status_code == 200
        assert client.put("/api/v1/me/notification-preferences", headers=headers,
                          json={"quiet_hours_enabled": False}).status_code == 200
        fake_wechat.grant_consent(member.openid, TEMPLATE)
        queue(member, period="graceful-stop")
        openids.append(member.openid)
    fake_wechat.fault(SUBSCRIBE, delay=0.5, times=PEOPLE)
    return openids


def _start(app, fake_wechat, tmp_path, *args):
    env = {**os.environ, "APP_ENV": "testing", "DATABASE_URL": app.config["DATABASE_URL"],
           "REDIS_URL": app.config["REDIS_URL"], "SECRET_KEY": app.config["SECRET_KEY"],
           "WECHAT_APPID": app.config["WECHAT_APPID"], "WECHAT_SECRET": app.config["WECHAT_SECRET"],
           "WECHAT_API_BASE": fake_wechat.base_url, "WECOM_API_BASE": fake_wechat.base_url, "OUTBOX_BATCH": "10"}
    log_path = tmp_path / f"{args[0]}-{time.monotonic_ns()}.log"
    process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env,
                               stdout=open(log_path, "w"), stderr=subprocess.STDOUT)
    return process, log_path


def _wait_for(condition, process, log_path, seconds=60):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            pytest.fail(f"gave up waiting; the process said:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.05)


def _terminate(process, log_path):
    """SIGTERM, then the process must end by itself, cleanly, within the stop timeout the units give it."""
    process.send_signal(signal.SIGTERM)
    try:
        assert process.wait(timeout=30) == 0, log_path.read_text()[-3000:]
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail(f"did not stop within 30 s:\n{log_path.read_text()[-3000:]}")
    return log_path.read_text()


def _statuses():
    db.session.expire_all()
    return Counter(db.session.scalars(select(Notification.status).where(Notification.kind == "quiz_open")))


def _assert_each_sent_once(fake_wechat, openids):
    received = Counter(m["touser"] for m in fake_wechat.messages(template_id=TEMPLATE))
    assert received == Counter(openids), "a message was lost or sent twice"
    assert _statuses() == Counter({SENT: PEOPLE})


def test_a_sender_stopped_mid_batch_finishes_it_and_its_restart_sends_the_rest_once(app, queued, fake_wechat, ctx,
                                                                                    tmp_path):
    sender, log_path = _start(app, fake_wechat, tmp_path, "notifications", "send")
    _wait_for(lambda: fake_wechat.messages(template_id=TEMPLATE), sender, log_path)
    said = _terminate(sender, log_path)

    assert "sender received SIGTERM" in said and "sender stopped" in said
    # The batch in hand was finished, not abandoned: nothing is left claimed, in a call, or unconfirmed.
    at_stop = _statuses()
    assert set(at_stop) <= {SENT, PENDING} and 0 < at_stop[SENT] < PEOPLE, at_stop
    assert len(fake_wechat.messages(template_id=TEMPLATE)) == at_stop[SENT]

    restarted, log_path = _start(app, fake_wechat, tmp_path, "notifications", "send")
    _wait_for(lambda: _statuses()[SENT] == PEOPLE, restarted, log_path)
    _terminate(restarted, log_path)
    _assert_each_sent_once(fake_wechat, queued)


def test_a_scheduler_stopped_mid_batch_releases_its_lock_and_its_restart_sends_the_rest_once(app, queued, fake_wechat,
                                                                                             ctx, tmp_path):
    lock_key = LeaderLock().key
    scheduler, log_path = _start(app, fake_wechat, tmp_path, "scheduler")
    _wait_for(lambda: get_redis().get(lock_key) and fake_wechat.messages(template_id=TEMPLATE), scheduler, log_path)
    said = _terminate(scheduler, log_path)

    assert "scheduler received SIGTERM" in said and "scheduler stopped" in said
    assert get_redis().get(lock_key) is None  # the next scheduler leads at once, not a lock TTL later
    at_stop = _statuses()
    assert set(at_stop) <= {SENT, PENDING} and at_stop[SENT] < PEOPLE, at_stop

    restarted, log_path = _start(app, fake_wechat, tmp_path, "scheduler")
    _wait_for(lambda: _statuses()[SENT] == PEOPLE, restarted, log_path)
    assert get_redis().get(lock_key) is not None
    _terminate(restarted, log_path)
    _assert_each_sent_once(fake_wechat, queued)
