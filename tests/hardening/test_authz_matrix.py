"""The authorization matrix: every endpoint in the URL map, called as each of seven identities, against POLICY.

Policy classes name who may act; everyone else must be refused with exactly 401 (anonymous), 403 or 404 and never
a 2xx. Who may act must never get 401/403/404 (a 409 or 422 from the action itself is fine) and nobody gets a 5xx.
Bodies: every write is sent a schema-valid body (BODIES), so the answer is the scope check's, not validation's.
An endpoint without a POLICY row fails the test by name: a new endpoint cannot ship without a declared policy.
"""
import io
import re
from datetime import timedelta

from sqlalchemy import select

from core import clock
from core.cache import get_redis
from core.extensions import db, limiter
from tests.hardening.conftest import IDENTITIES, secret_values

ALL = frozenset(IDENTITIES)
ANY = ALL - {"anonymous"}  # any logged-in member
MANAGERS = frozenset({"secretary_a", "secretary_b", "admin_a", "admin_b"})  # acting within their own scope
ADMINS = frozenset({"admin_a", "admin_b"})
A_SIDE = frozenset({"member_a", "secretary_a", "admin_a"})  # branch A1's members see it; its managers too
A_MANAGERS = frozenset({"secretary_a", "admin_a"})  # A1's secretary and the admin above it
A_ADMIN = frozenset({"admin_a"})  # committee A's admin
A_AUDIENCE = frozenset({"member_a", "secretary_a"})  # people in branch A1 (admins sit in no branch)
A_TAKERS = frozenset({"member_a"})  # who take A1's quiz: not its secretary, who manages it (docs/quizzes.md)
OWNER = frozenset({"member_a"})  # the member who owns the record
NOBODY = frozenset()  # console pages: a bearer token opens no console session

API = "/api/v1"
POLICY = {
    ("POST", f"{API}/auth/wechat"): ALL,
    ("POST", f"{API}/auth/logout"): ANY,
    ("GET", f"{API}/docs"): ALL,
    ("GET", f"{API}/openapi.json"): ALL,
    ("GET", "/healthz"): ALL,
    ("GET", "/readyz"): ALL,
    # members
    ("GET", f"{API}/me"): ANY,
    ("GET", f"{API}/members/<int:member_id>"): A_MANAGERS,
    ("PATCH", f"{API}/members/<int:member_id>"): A_MANAGERS,
    ("DELETE", f"{API}/members/<int:member_id>/wechat"): A_MANAGERS,
    ("GET", f"{API}/branches/<int:branch_id>/members"): A_MANAGERS,
    ("POST", f"{API}/branches/<int:branch_id>/roster"): A_MANAGERS,
    ("GET", f"{API}/committees/<int:committee_id>/branches"): A_ADMIN,
    ("POST", f"{API}/committees/<int:committee_id>/roster"): A_ADMIN,
    # learning
    ("GET", f"{API}/materials/today"): ANY,
    ("GET", f"{API}/materials"): ANY,
    ("POST", f"{API}/materials"): MANAGERS,
    ("GET", f"{API}/manage/materials"): MANAGERS,
    ("POST", f"{API}/materials/import"): MANAGERS,
    ("POST", f"{API}/materials/import-json"): MANAGERS,
    ("GET", f"{API}/materials/<int:material_id>"): A_SIDE,
    ("PATCH", f"{API}/materials/<int:material_id>"): A_MANAGERS,
    ("POST", f"{API}/materials/<int:material_id>/publish"): A_MANAGERS,
    ("POST", f"{API}/materials/<int:material_id>/withdraw"): A_MANAGERS,
    ("POST", f"{API}/materials/<int:material_id>/reads"): A_SIDE,  # whoever may see an item may study it
    ("POST", f"{API}/materials/<int:material_id>/reads/finish"): A_SIDE,
    ("GET", f"{API}/me/points"): ANY,
    ("GET", f"{API}/me/points/entries"): ANY,
    ("GET", f"{API}/me/reading"): ANY,
    ("GET", f"{API}/branches/<int:branch_id>/leaderboard"): A_SIDE,
    ("GET", f"{API}/branches/<int:branch_id>/reading"): A_MANAGERS,
    ("GET", f"{API}/committees/<int:committee_id>/leaderboard"): A_SIDE,  # the committee's members see its board
    ("GET", f"{API}/branches/<int:branch_id>/reading/export"): A_MANAGERS,
    ("GET", f"{API}/committees/<int:committee_id>/reading"): A_ADMIN,
    # quizzes
    ("GET", f"{API}/questions"): MANAGERS,
    ("POST", f"{API}/questions"): MANAGERS,
    ("GET", f"{API}/questions/template"): MANAGERS,
    ("GET", f"{API}/questions/<int:question_id>"): A_MANAGERS,
    ("PATCH", f"{API}/questions/<int:question_id>"): A_MANAGERS,
    ("POST", f"{API}/questions/<int:question_id>/retire"): A_MANAGERS,
    ("POST", f"{API}/branches/<int:branch_id>/questions/import"): A_MANAGERS,
    ("POST", f"{API}/committees/<int:committee_id>/questions/import"): A_ADMIN,
    ("POST", f"{API}/branches/<int:branch_id>/quizzes"): A_MANAGERS,
    ("POST", f"{API}/committees/<int:committee_id>/quizzes"): A_ADMIN,
    ("GET", f"{API}/quizzes"): MANAGERS,
    ("GET", f"{API}/quizzes/current"): ANY,
    ("GET", f"{API}/me/quizzes"): ANY,
    ("GET", f"{API}/me/quizzes/<int:quiz_id>"): A_TAKERS,
    ("GET", f"{API}/quizzes/<int:quiz_id>"): A_MANAGERS,
    ("PATCH", f"{API}/quizzes/<int:quiz_id>"): A_MANAGERS,
    ("DELETE", f"{API}/quizzes/<int:quiz_id>"): A_MANAGERS,
    ("GET", f"{API}/quizzes/<int:quiz_id>/export"): A_MANAGERS,
    ("GET", f"{API}/quizzes/<int:quiz_id>/items"): A_MANAGERS,
    ("GET", f"{API}/quizzes/<int:quiz_id>/pending"): A_MANAGERS,
    ("GET", f"{API}/quizzes/<int:quiz_id>/stats"): A_MANAGERS,
    ("POST", f"{API}/quizzes/<int:quiz_id>/attempts"): A_TAKERS,
    ("GET", f"{API}/attempts/<int:attempt_id>"): OWNER,
    ("PUT", f"{API}/attempts/<int:attempt_id>/answers"): OWNER,
    ("POST", f"{API}/attempts/<int:attempt_id>/submit"): OWNER,
    # quotas
    ("GET", f"{API}/me/quota"): ANY,
    ("GET", f"{API}/me/books"): ANY,
    ("POST", f"{API}/me/books"): ANY,
    ("GET", f"{API}/members/<int:member_id>/quota"): A_MANAGERS,  # the member reads their own at /me/quota
    ("GET", f"{API}/books/<int:report_id>"): A_SIDE,
    ("PUT", f"{API}/books/<int:report_id>"): OWNER,
    ("POST", f"{API}/books/<int:report_id>/review"): A_MANAGERS,
    ("GET", f"{API}/branches/<int:branch_id>/books"): A_MANAGERS,
    ("GET", f"{API}/exchanges"): ANY,
    ("POST", f"{API}/exchanges"): ANY,  # a member proposes one for their branch, pending approval
    ("GET", f"{API}/exchanges/<int:exchange_id>"): A_SIDE,
    ("PATCH", f"{API}/exchanges/<int:exchange_id>"): A_MANAGERS,
    ("POST", f"{API}/exchanges/<int:exchange_id>/review"): A_MANAGERS,
    ("POST", f"{API}/exchanges/<int:exchange_id>/cancel"): A_MANAGERS,  # a member withdraws only their own proposal
    ("GET", f"{API}/exchanges/<int:exchange_id>/attendance"): A_MANAGERS,
    ("POST", f"{API}/exchanges/<int:exchange_id>/attendance"): A_MANAGERS,
    ("DELETE", f"{API}/exchanges/<int:exchange_id>/attendance/<int:member_id>"): A_MANAGERS,
    ("GET", f"{API}/exchanges/<int:exchange_id>/check-in-code"): A_MANAGERS,
    ("POST", f"{API}/exchanges/<int:exchange_id>/check-in"): A_AUDIENCE,
    ("GET", f"{API}/branches/<int:branch_id>/quota-board"): A_SIDE,
    ("GET", f"{API}/branches/<int:branch_id>/quota-board/export"): A_MANAGERS,
    ("GET", f"{API}/branches/<int:branch_id>/quota-policy"): A_SIDE,
    ("PUT", f"{API}/branches/<int:branch_id>/quota-policy"): A_ADMIN,  # a branch's quota is set from above
    ("DELETE", f"{API}/branches/<int:branch_id>/quota-policy"): A_ADMIN,
    ("GET", f"{API}/branches/<int:branch_id>/quota-postings"): A_SIDE,
    ("POST", f"{API}/branches/<int:branch_id>/quota-postings"): A_MANAGERS,
    ("GET", f"{API}/branches/<int:branch_id>/quota-postings/<int:posting_id>"): A_SIDE,
    ("GET", f"{API}/committees/<int:committee_id>/quota-completion"): A_ADMIN,
    ("GET", f"{API}/committees/<int:committee_id>/quota-policy"): A_ADMIN,
    ("PUT", f"{API}/committees/<int:committee_id>/quota-policy"): A_ADMIN,
    # notifications
    ("GET", f"{API}/me/inbox"): ANY,
    ("GET", f"{API}/me/inbox/unread-count"): ANY,
    ("POST", f"{API}/me/inbox/read-all"): ANY,
    ("POST", f"{API}/me/inbox/<int:notification_id>/read"): OWNER,
    ("GET", f"{API}/me/notification-preferences"): ANY,
    ("PUT", f"{API}/me/notification-preferences"): ANY,
    ("GET", f"{API}/me/subscriptions"): ANY,
    ("POST", f"{API}/me/subscriptions"): ANY,
    ("GET", f"{API}/branches/<int:branch_id>/wecom-robot"): A_MANAGERS,
    ("PUT", f"{API}/branches/<int:branch_id>/wecom-robot"): A_MANAGERS,
    ("DELETE", f"{API}/branches/<int:branch_id>/wecom-robot"): A_MANAGERS,
    ("GET", f"{API}/branches/<int:branch_id>/reminders"): A_MANAGERS,
    ("POST", f"{API}/branches/<int:branch_id>/reminders"): A_MANAGERS,
    ("GET", f"{API}/admin/outbox"): ADMINS,
    ("POST", f"{API}/admin/outbox/<int:notification_id>/retry"): A_ADMIN,
    # audit
    ("GET", f"{API}/committees/<int:committee_id>/audit"): A_ADMIN,
}

# Console pages are cookie sessions with their own login: a bearer token (any identity here) opens none, so every
# identity is sent to the login page. tests/console checks roles and scope inside the console itself.
CONSOLE_PUBLIC = {("GET", "/console/login"), ("POST", "/console/login")}

SKIP = re.compile(r"^/static/|^/console/static/|^/api/v1/docs-assets/")
REFUSED = {401, 403, 404}
OBJECT_IDS = re.compile(r"<int:(material|question|quiz|attempt|exchange|report|posting|notification)_id>")


def _csv(headers, *rows):
    text = "\n".join([",".join(headers)] + [",".join(r) for r in rows]) + "\n"
    return io.BytesIO(text.encode("utf-8-sig"))


def _bodies(world):
    """A schema-valid body per write, so the scope check (not validation) decides who gets through."""
    reflection = "读后感：本书系统讲述了党的光辉历程，深受教育，要把学习成果转化为做好本职工作的动力。" * 3
    book = {"title": "红岩", "author": "罗广斌", "finished_on": "2026-10-08", "reflection": reflection}
    exchange = {"title": "支部交流会", "starts_at": "2026-11-25T14:00:00", "ends_at": "2026-11-25T16:00:00",
                "place": "三楼会议室", "guest_speakers": "市委党校王教授"}
    material = {"title": "学习党章", "day": "2026-11-24"}
    return {
        "/auth/wechat": {"json": {"code": "not-a-code"}},
        "/members/<int:member_id>": {"json": {"active": True}},
        "roster": {"data": {"file": (_csv(["姓名", "手机号", "支部", "党小组", "角色", "入党日期"],
                                          ["新同志", "13912345678", "甲一支部", "", "党员", ""]), "r.csv")}},
        "/materials": {"json": material},
        "/materials/<int:material_id>": {"json": {"title": "学习党章（修订）"}},
        "/withdraw": {"json": {"reason": "内容有误"}},
        "/reads/finish": {"json": {"client_seconds": 120}},
        "/materials/import": {"data": {"file": (_csv(["日期", "标题"], ["2026-11-24", "学习党章"]), "p.csv")}},
        "/materials/import-json": {"json": {"items": [material]}},
        "/questions": {"json": {"kind": "judge", "stem": "党员应当遵守党的纪律。", "answer": "T"}},
        "/questions/<int:question_id>": {"json": {"difficulty": 3}},
        "questions/import": {"data": {"file": (_csv(["题型", "题干", "答案"], ["判断", "党员必须遵守党章。", "对"]),
                                               "q.csv")}},
        "quizzes": {"json": {"question_ids": world["question_ids"]}},
        "/quizzes/<int:quiz_id>": {"json": {"title": "第48周测验（修订）"}},
        "/answers": {"json": {"answers": {}}},
        "/submit": {"json": {}},
        "quota-policy": {"json": {"year": 2026, "talks": 1, "attends": 4, "books": 1}},
        "/exchanges": {"json": exchange},
        "/exchanges/<int:exchange_id>": {"json": {"place": "二楼会议室"}},
        "/review": {"json": {"approve": True}},
        "/cancel": {"json": {"reason": "主讲人临时出差"}},
        "/attendance": {"json": {"member_ids": [world["member_id"]]}},
        "/check-in": {"json": {"code": "000000"}},
        "/me/books": {"json": book},
        "/books/<int:report_id>": {"json": book},
        "quota-postings": {"json": {}},
        "/me/subscriptions": {"json": {"request_id": "req-1", "results": []}},
        "/me/notification-preferences": {"json": {"reminders_enabled": True}},
        "wecom-robot": {"json": {"webhook_key": "matrix-webhook-key"}},
        "/reminders": {"json": {"kind": "reading"}},
    }


def _body_for(method, rule, world):
    """The body for a rule: an exact key, else the longest key the rule ends with ('/x') or contains ('x')."""
    if method in ("GET", "DELETE"):
        return {}
    bodies = _bodies(world)
    tail = rule[len(API):] if rule.startswith(API) else rule
    if tail in bodies:
        return bodies[tail]
    for key in sorted(bodies, key=len, reverse=True):
        if (key.startswith("/") and tail.endswith(key)) or (not key.startswith("/") and key in tail):
            return bodies[key]
    return {"json": {}}


def _build_world(client, org, headers_for, previous=None):
    """One object of each kind, owned in branch A1, made the way its owners make them (again: fresh ones)."""
    from notifications import services as notifications
    from notifications.models import Notification
    from tests.quizzes.helpers import make_bank

    secretary, member = headers_for("secretary_a", fresh=True), headers_for("member_a", fresh=True)
    world = {"branch_id": org.branch_a.id, "committee_id": org.committee_a.id, "member_id": org.member_a.id}

    material = client.post(f"{API}/materials", headers=secretary, json={
        "title": "学习贯彻全会精神", "day": "2026-11-23", "publish": True, "summary": "要点", "body": "坚持党的领导。"})
    assert material.status_code in (200, 201), material.get_json()
    world["material_id"] = material.get_json()["id"]

    bank = make_bank(org.committee_a, branch=org.branch_a)
    world["question_ids"] = [q.id for q in bank]
    world["question_id"] = bank[0].id
    # One quiz per branch and week: a rebuilt world takes a later week (its attempt stays the first world's).
    world["round"] = previous["round"] + 1 if previous else 0
    week = clock.week_key(clock.today() + timedelta(weeks=world["round"]))
    quiz = client.post(f"{API}/branches/{org.branch_a.id}/quizzes", headers=secretary,
                       json={"question_ids": world["question_ids"], "max_attempts": 3, "week_key": week})
    assert quiz.status_code in (200, 201), quiz.get_json()
    world["quiz_id"] = quiz.get_json()["id"]
    if previous:
        world["attempt_id"] = previous["attempt_id"]
    else:
        attempt = client.post(f"{API}/quizzes/{world['quiz_id']}/attempts", headers=member)
        assert attempt.status_code in (200, 201), attempt.get_json()
        world["attempt_id"] = attempt.get_json()["id"]

    # A new exchange per world (the same title would return the first): one allowed cancel must not close the next.
    exchange = client.post(f"{API}/exchanges", headers=secretary, json={
        "title": f"微服务架构实践交流（第{world['round'] + 1}场）", "starts_at": "2026-11-23T14:00:00",
        "ends_at": "2026-11-23T16:00:00", "place": "三楼会议室", "speaker_ids": [org.member_a2.id]})
    assert exchange.status_code in (200, 201), exchange.get_json()
    world["exchange_id"] = exchange.get_json()["id"]
    attended = client.post(f"{API}/exchanges/{world['exchange_id']}/attendance", headers=secretary,
                           json={"member_ids": [org.member_a.id]})
    assert attended.status_code in (200, 201), attended.get_json()

    book = client.post(f"{API}/me/books", headers=member,
                       json={**_bodies(world)["/me/books"]["json"], "title": f"红岩（第{world['round'] + 1}册）"})
    assert book.status_code in (200, 201), book.get_json()  # the same book again is the same report
    world["report_id"] = book.get_json()["id"]

    posting = client.post(f"{API}/branches/{org.branch_a.id}/quota-postings", headers=secretary, json={})
    assert posting.status_code in (200, 201), posting.get_json()
    world["posting_id"] = posting.get_json()["id"]

    notifications.notify_member(org.member_a, "quota_tally", f"matrix-{world['material_id']}",
                                {"title": "本月1+4+1公示", "body": "请查看"})
    db.session.commit()
    world["notification_id"] = db.session.scalar(select(Notification.id).where(
        Notification.member_id == org.member_a.id).order_by(Notification.id.desc()).limit(1))
    return world


def _url(rule, world):
    def fill(match):
        name = match.group(2)
        if name == "kind":
            return "roster"
        return str(world[name])

    return re.sub(r"<(?:(\w+):)?(\w+)>", fill, rule)


def _rules(app):
    rules = []
    for rule in app.url_map.iter_rules():
        if SKIP.match(rule.rule) or not (rule.rule.startswith(API) or rule.rule.startswith("/console")
                                         or rule.rule in ("/healthz", "/readyz")):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            rules.append((method, rule.rule))
    return sorted(rules, key=lambda r: (r[1], r[0]))


def test_every_endpoint_has_a_policy(app):
    """An endpoint in the URL map without a declared policy fails here, by name (API and console alike)."""
    missing = [f"{m} {r}" for m, r in _rules(app) if (m, r) not in POLICY and not r.startswith("/console")]
    assert not missing, "endpoints without an authorization policy (add them to POLICY):\n" + "\n".join(missing)
    missing = [f"{m} {r}" for m, r in _rules(app) if r.startswith("/console") and (m, r) not in CONSOLE_POLICY]
    assert not missing, "console pages without a policy (add them to CONSOLE_POLICY):\n" + "\n".join(missing)
    stale = [f"{m} {r}" for m, r in {**POLICY, **CONSOLE_POLICY} if (m, r) not in set(_rules(app))]
    assert not stale, "policy rows for endpoints that no longer exist:\n" + "\n".join(stale)


def _call(client, method, url, headers, body):
    kwargs = dict(body)
    if "data" in kwargs:  # a fresh file object per call: the last one was read to the end
        name, (stream, filename) = next(iter(kwargs["data"].items()))
        kwargs = {"data": {name: (io.BytesIO(stream.getvalue()), filename)}, "content_type": "multipart/form-data"}
    get_redis().delete(*(get_redis().keys("bs-rl*") or ["-"]))  # the matrix is not a rate-limit test
    return client.open(url, method=method, headers=headers, **kwargs)


def test_authorization_matrix(app, client, org, headers_for, frozen, monkeypatch):
    """Each endpoint × seven identities answers as POLICY says: refused → 401/403/404 only, allowed → through."""
    frozen("2026-11-23 09:00")
    # Not a rate-limit test: each identity writes hundreds of times a minute, counted per member (members.ratelimit).
    monkeypatch.setitem(app.config, "RATELIMIT_WRITES", "100000 per minute")
    rules = [r for r in _rules(app) if r in POLICY or r[1].startswith("/console")]
    secrets = [s.encode() for s in secret_values(app)]
    problems, checked = [], 0
    world = _build_world(client, org, headers_for)
    shared = dict(world)
    for method, rule in rules:
        console = rule.startswith("/console")
        allowed = (ALL if (method, rule) in CONSOLE_PUBLIC else NOBODY) if console else POLICY[(method, rule)]
        # Refused identities first, on the shared world; each allowed one gets fresh objects when it may change them.
        for identity in sorted(IDENTITIES, key=lambda i: i in allowed):
            # A write by an allowed identity gets objects of its own, so the next one finds them as they were.
            target = world
            if identity in allowed and method != "GET" and OBJECT_IDS.search(rule):
                world = target = _build_world(client, org, headers_for, world)
                world = {**world, **{k: v for k, v in shared.items() if k != "round"}}
            headers = headers_for(identity, fresh=True)
            response = _call(client, method, _url(rule, target), headers, _body_for(method, rule, target))
            status, checked = response.status_code, checked + 1
            where = f"{method} {rule} as {identity}: {status} {response.data[:160].decode(errors='replace')}"
            if status >= 500:
                problems.append("server error — " + where)
            elif any(s in response.data for s in secrets):
                problems.append("secret in response — " + where)
            elif console and identity not in allowed:
                if not (status in (302, 303) and "/console/login" in response.headers.get("Location", "")) \
                        and status not in (400, 401, 403, 404):
                    problems.append("console page reachable without a console session — " + where)
            elif identity not in allowed:
                expected = {401} if identity == "anonymous" else {403, 404}
                if status not in expected:
                    problems.append(f"should be refused with {sorted(expected)} — " + where)
            elif status in REFUSED:
                problems.append("should be allowed — " + where)
    print(f"authorization matrix: {len(rules)} endpoints × {len(IDENTITIES)} identities = {checked} calls")
    assert checked == len(rules) * len(IDENTITIES)
    assert not problems, f"{len(problems)} of {checked} calls break the policy:\n" + "\n".join(problems)


# --- the console, with console sessions ----------------------------------------------------------------------
# Each identity holds a real console session (a password login through the form) — except the anonymous browser and
# member_a, who cannot have one: their cookie carries a forged console session (see the test below), which the
# console must treat as no session. Refused: the login redirect for those two, 403/404 for the desk users.

CONSOLE_IDENTITIES = ("anonymous", "member_a", "secretary_a", "secretary_b", "admin_a", "admin_b")
NO_SESSION = frozenset({"anonymous", "member_a"})
PUBLIC = frozenset(CONSOLE_IDENTITIES)  # the login page and logout: anyone, with or without a session
DESK = frozenset({"secretary_a", "secretary_b", "admin_a", "admin_b"})  # any desk user, within their own scope
DESK_A = frozenset({"secretary_a", "admin_a"})  # branch A1's secretary and the admin above it
ADMINS = frozenset({"admin_a", "admin_b"})  # desk accounts are given by admins
ADMIN_A = frozenset({"admin_a"})

C = "/console"
CONSOLE_POLICY = {
    ("GET", f"{C}/login"): PUBLIC,
    ("POST", f"{C}/login"): PUBLIC,
    ("POST", f"{C}/logout"): PUBLIC,
    ("GET", f"{C}/"): DESK,  # a secretary is sent on to their own branch page
    ("GET", f"{C}/branches/<int:branch_id>"): DESK_A,
    ("GET", f"{C}/branches/<int:branch_id>/reading/export"): DESK_A,
    ("GET", f"{C}/branches/<int:branch_id>/behind"): DESK_A,
    ("POST", f"{C}/branches/<int:branch_id>/remind"): DESK_A,
    ("GET", f"{C}/branches/<int:branch_id>/books"): DESK_A,
    ("POST", f"{C}/books/<int:report_id>/review"): DESK_A,
    ("GET", f"{C}/branches/<int:branch_id>/tally"): DESK_A,
    ("GET", f"{C}/branches/<int:branch_id>/tally/export"): DESK_A,
    ("POST", f"{C}/branches/<int:branch_id>/tally/post"): DESK_A,
    ("GET", f"{C}/branches/<int:branch_id>/tally/postings/<int:posting_id>"): DESK_A,
    ("GET", f"{C}/quizzes"): DESK,
    ("GET", f"{C}/quizzes/<int:quiz_id>"): DESK_A,
    ("GET", f"{C}/materials"): DESK,
    ("POST", f"{C}/materials"): DESK,
    ("POST", f"{C}/materials/<int:material_id>/publish"): DESK_A,
    ("GET", f"{C}/questions"): DESK,
    ("GET", f"{C}/questions/new"): DESK,
    ("POST", f"{C}/questions/new"): DESK,
    ("GET", f"{C}/questions/<int:question_id>"): DESK_A,
    ("POST", f"{C}/questions/<int:question_id>"): DESK_A,
    ("POST", f"{C}/questions/<int:question_id>/retire"): DESK_A,
    ("GET", f"{C}/imports/<kind>"): DESK,
    ("POST", f"{C}/imports/<kind>"): DESK,
    ("GET", f"{C}/password"): DESK,
    ("POST", f"{C}/password"): DESK,
    ("GET", f"{C}/accounts"): ADMINS,
    ("POST", f"{C}/accounts/<int:member_id>"): ADMIN_A,  # member_a is no desk user: a 422 that names why
    ("POST", f"{C}/accounts/<int:member_id>/reset"): ADMIN_A,
    ("GET", f"{C}/members"): DESK,
    ("GET", f"{C}/members/<int:member_id>"): DESK_A,
    ("POST", f"{C}/members/<int:member_id>"): DESK_A,
    ("POST", f"{C}/members/<int:member_id>/active"): DESK_A,
    ("POST", f"{C}/members/<int:member_id>/unbind"): DESK_A,
    ("GET", f"{C}/exchanges"): DESK,
    ("POST", f"{C}/exchanges"): DESK_A,  # for branch A1
    ("GET", f"{C}/exchanges/<int:exchange_id>"): DESK_A,
    ("POST", f"{C}/exchanges/<int:exchange_id>/review"): DESK_A,
    ("POST", f"{C}/exchanges/<int:exchange_id>/cancel"): DESK_A,
    ("POST", f"{C}/exchanges/<int:exchange_id>/attendance"): DESK_A,
    ("POST", f"{C}/exchanges/<int:exchange_id>/attendance/<int:member_id>/remove"): DESK_A,
    ("GET", f"{C}/exchanges/<int:exchange_id>/projector"): DESK_A,
    ("GET", f"{C}/exchanges/<int:exchange_id>/count"): DESK_A,
    ("GET", f"{C}/quizzes/new"): DESK,
    ("POST", f"{C}/quizzes/new"): DESK,
    ("GET", f"{C}/quizzes/<int:quiz_id>/edit"): DESK_A,
    ("POST", f"{C}/quizzes/<int:quiz_id>/edit"): DESK_A,
    ("POST", f"{C}/quizzes/<int:quiz_id>/delete"): DESK_A,
    ("GET", f"{C}/quizzes/<int:quiz_id>/live"): DESK_A,
}

# The page whose form a POST comes from: its CSRF token is the one sent (when the identity may open that page).
FORM_PAGES = {
    f"{C}/login": f"{C}/login",
    f"{C}/logout": f"{C}/quizzes",
    f"{C}/branches/<int:branch_id>/remind": f"{C}/branches/<int:branch_id>/behind",
    f"{C}/books/<int:report_id>/review": f"{C}/branches/<int:branch_id>/books",
    f"{C}/branches/<int:branch_id>/tally/post": f"{C}/branches/<int:branch_id>/tally",
    f"{C}/materials": f"{C}/materials",
    f"{C}/materials/<int:material_id>/publish": f"{C}/materials",
    f"{C}/questions/new": f"{C}/questions/new",
    f"{C}/questions/<int:question_id>": f"{C}/questions/<int:question_id>",
    f"{C}/questions/<int:question_id>/retire": f"{C}/questions/<int:question_id>",
    f"{C}/imports/<kind>": f"{C}/imports/<kind>",
}


def _console_form(rule, world):
    """The form fields a POST sends besides its CSRF token: valid, so scope (not validation) decides."""
    if rule.endswith("/imports/<kind>"):
        return {"file": (_csv(["姓名", "手机号", "支部", "党小组", "角色", "入党日期"],
                              ["新同志", "13912345678", "甲一支部", "", "党员", ""]), "roster.csv")}
    return {
        f"{C}/login": {"username": "nobody-here", "password": "Wrong-password-1"},
        f"{C}/branches/<int:branch_id>/remind": {"kind": "reading"},
        f"{C}/books/<int:report_id>/review": {"decision": "approve"},
        f"{C}/materials": {"title": "学习党章", "day": "2026-11-24", "body": "党章要点", "publish": "1"},
        f"{C}/questions/new": {"kind": "judge", "stem": "党员应当遵守党的纪律。", "answer": "正确"},
        f"{C}/questions/<int:question_id>": {"stem": "中国共产党成立于哪一年？", "options": "1921年\n1949年",
                                              "answer": "A", "difficulty": "2"},
        f"{C}/password": {"current": "Wrong-password-1", "new": "Another-pass-77", "confirm": "Another-pass-77"},
        f"{C}/accounts/<int:member_id>": {"username": "matrix-new"},
        f"{C}/members/<int:member_id>": {"name": "张三"},
        f"{C}/members/<int:member_id>/active": {"active": "1"},
        f"{C}/exchanges": {"branch_id": world["branch_id"], "title": "矩阵交流", "day": "2026-11-25", "start": "14:00",
                           "end": "15:00", "place": "会议室", "guest_speakers": "外请专家"},
        f"{C}/exchanges/<int:exchange_id>/review": {"decision": "approve"},
        f"{C}/exchanges/<int:exchange_id>/cancel": {"reason": "矩阵测试"},
        f"{C}/exchanges/<int:exchange_id>/attendance": {"member_ids": [world["member_id"]]},
        f"{C}/quizzes/new": {"action": "preview", "count_0": "1"},
        f"{C}/quizzes/<int:quiz_id>/edit": {"title": "矩阵测验"},
    }.get(rule, {})


def _forged_member_session(app, member):
    """A browser whose console cookie names a plain member, as a stolen or stale cookie would."""
    from console import services
    from tests.console.conftest import Desk

    desk = Desk(app.test_client())
    session_id = services.open_session(member)  # a real session row, but of someone who is no desk user
    with desk.client.session_transaction() as sess:
        sess["console_sid"] = session_id
    return desk


def _console_desks(app, org):
    """One browser per identity: real password logins for the desk users, none possible for the others."""
    from console import services
    from tests.console.conftest import PASSWORD, Desk

    def log_in(identity):
        member = getattr(org, identity)
        account = services.set_password(None, member.phone, f"matrix-{identity.replace('_', '-')}", PASSWORD)
        desk = Desk(app.test_client())
        limiter.reset()  # the login rate limit is not under test here
        response = desk.login(account.username)
        assert response.status_code == 302 and "/console/login" not in response.headers["Location"], identity
        desk.get("/console/", follow_redirects=True)  # the session's own CSRF token
        return desk

    desks = {identity: log_in(identity) for identity in DESK}
    desks["anonymous"] = Desk(app.test_client())
    desks["member_a"] = _forged_member_session(app, org.member_a)
    return desks, log_in


def _is_login_redirect(response):
    return response.status_code in (302, 303) and "/console/login" in response.headers.get("Location", "")


def test_a_member_cannot_get_or_use_a_console_account(app, org, client):
    """A plain member is refused an account, cannot log in even with one planted, and a forged cookie is no session."""
    import pytest
    from argon2 import PasswordHasher

    from console import services
    from console.models import ConsoleAccount
    from core.errors import Invalid
    from tests.console.conftest import PASSWORD, Desk

    with pytest.raises(Invalid) as refused:
        services.set_password(None, org.member_a.phone, "zhangsan", PASSWORD)
    assert refused.value.code == "role_not_allowed"
    db.session.rollback()
    # As if a secretary's account outlived their demotion to member: the password is right, the role is not.
    db.session.add(ConsoleAccount(member_id=org.member_a.id, username="zhangsan",
                                  password_hash=PasswordHasher().hash(PASSWORD)))
    db.session.commit()
    desk = Desk(app.test_client())
    response = desk.login("zhangsan")
    assert response.status_code == 403 and "停用" in response.get_data(as_text=True)
    forged = _forged_member_session(app, org.member_a)
    assert _is_login_redirect(forged.get("/console/quizzes"))
    with forged.client.session_transaction() as sess:
        assert "console_sid" not in sess  # the forged session was dropped, not just refused once


def _console_call(desk, method, rule, world):
    """One console request as `desk`: a GET, or a form post with the form page's token (and its file, if any)."""
    url = _url(rule, world)
    if method == "GET":
        return desk.get(url)
    if rule in FORM_PAGES:
        desk.get(_url(FORM_PAGES[rule], world))  # the form's token (if this identity may open it)
    fields = _console_form(rule, world)
    if "file" in fields:
        stream, filename = fields["file"]
        return desk.post(url, {"file": (io.BytesIO(stream.getvalue()), filename)}, content_type="multipart/form-data")
    return desk.post(url, fields)


def _console_problem(response, identity, allowed, secrets):
    """What is wrong with a console answer under CONSOLE_POLICY, or None."""
    status = response.status_code
    if status >= 500:
        return "server error"
    if any(v in response.data for v in secrets):
        return "secret in response"
    if identity not in allowed:
        if identity in NO_SESSION and not _is_login_redirect(response):
            return "should be sent to the login page"
        if identity not in NO_SESSION and status not in (403, 404):
            return "should be refused with 403/404"
        return None
    if allowed is not PUBLIC and (status in (400, 401, 403, 404) or _is_login_redirect(response)):
        return "should be allowed"
    if allowed is PUBLIC and status in (400, 403, 404):
        return "public page refused"
    return None


def test_console_authorization_matrix(app, client, org, headers_for, frozen):
    """Every console page and action × six console identities answers as CONSOLE_POLICY says."""
    frozen("2026-11-23 09:00")
    world = _build_world(client, org, headers_for)
    from tests.console.conftest import Desk

    desks, log_in = _console_desks(app, org)
    secrets = [v.encode() for v in secret_values(app)]
    rules = [r for r in _rules(app) if r[1].startswith("/console")]
    problems, checked = [], 0
    for method, rule in rules:
        allowed = CONSOLE_POLICY[(method, rule)]
        for identity in sorted(CONSOLE_IDENTITIES, key=lambda i: i in allowed):  # the refused first
            desk = desks[identity]
            limiter.reset()  # not a rate-limit test
            response = _console_call(desk, method, rule, world)
            checked += 1
            problem = _console_problem(response, identity, allowed, secrets)
            if problem:
                problems.append(f"{problem} — {method} {rule} as {identity}: {response.status_code} "
                                f"{response.headers.get('Location', '')} "
                                f"{response.data[:120].decode(errors='replace')}")
            if rule == f"{C}/logout":  # the logout cleared the session (and its CSRF token): start again
                desks[identity] = (log_in(identity) if identity in DESK else Desk(app.test_client())
                                   if identity == "anonymous" else _forged_member_session(app, org.member_a))
    print(f"console authorization matrix: {len(rules)} routes × {len(CONSOLE_IDENTITIES)} identities = {checked}")
    assert checked == len(rules) * len(CONSOLE_IDENTITIES) == len(CONSOLE_POLICY) * len(CONSOLE_IDENTITIES)
    assert not problems, f"{len(problems)} of {checked} calls break the console policy:\n" + "\n".join(problems)
