"""The console's second round: the paged ranking, a new question, a past posting, the cached 12-week series."""
import re

import pytest
from sqlalchemy import event, func, select

from core.cache import get_redis
from core.extensions import db
from tests import factories
from tests.learning.helpers import publish

RANK_ROW = re.compile(r'<td><a href="/console/branches/(\d+)">')


def _ranked(d, query=""):
    page = d.get(f"/console/{query}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    return [int(b) for b in RANK_ROW.findall(html[html.index('id="ranking"'):])], html


def _study(client, headers, item, frozen):
    frozen("2026-11-23 09:00")
    client.post(f"/api/v1/materials/{item['id']}/reads", headers=headers)
    frozen("2026-11-23 09:20")
    response = client.post(f"/api/v1/materials/{item['id']}/reads/finish", json={}, headers=headers)
    assert response.status_code == 200, response.get_json()


@pytest.fixture
def three_branches(app, org, client, login, frozen, monkeypatch):
    """A third branch in A; only A2 has studied this week's item; two branches a page."""
    a3 = factories.branch(org.committee_a, "甲三支部")
    factories.member(a3, name="冯七")
    frozen("2026-11-23 08:00")
    item = publish(client, login(org.admin_a), day="2026-11-23")
    _study(client, login(org.member_a2_branch), item, frozen)
    monkeypatch.setitem(app.config, "CONSOLE_RANKING_PER_PAGE", 2)
    return a3


def test_ranking_is_paged_and_best_reading_comes_first(org, desk, three_branches):
    d = desk(org.admin_a)
    first, html = _ranked(d)
    assert first[0] == org.branch_a2.id and len(first) == 2
    assert "第 1 / 2 页，共 3 个支部" in html and "50%" in html
    second, _ = _ranked(d, "?page=2")
    assert len(second) == 1 and set(first + second) == {org.branch_a.id, org.branch_a2.id, three_branches.id}


def test_ranking_sorts_by_members_and_worst_reading(org, desk, three_branches):
    d = desk(org.admin_a)
    by_members, _ = _ranked(d, "?sort=members")
    assert by_members == [org.branch_a.id, org.branch_a2.id]  # 3 members, then 2
    worst, _ = _ranked(d, "?sort=reading_asc&page=2")
    assert worst == [org.branch_a2.id]  # the only branch that studied is last when the worst come first
    fallback, _ = _ranked(d, "?sort=drop-table&page=x")
    assert fallback[0] == org.branch_a2.id  # an unknown sort or page falls back to the default


def test_ranking_pages_in_sql(org, desk, three_branches):
    """The page query carries LIMIT/OFFSET: the database pages, Python never holds every branch."""
    d = desk(org.admin_a)
    statements = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        d.get("/console/?sort=members&page=2")
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    assert any("LIMIT" in s and "OFFSET" in s and "branch_name" in s for s in statements)


@pytest.mark.parametrize("kind, fields, answer_shown", [
    ("single", {"options": "为人民服务\n为个人谋利", "answer": "A"}, "A"),
    ("multiple", {"options": "党的政治建设\n党的思想建设\n个人名利", "answer": "AB"}, "AB"),
    ("judge", {"answer": "正确"}, "正确"),
    ("blank", {"answer": "人民|老百姓"}, "人民"),
])
def test_a_question_of_each_type_is_created_from_the_form(org, desk, kind, fields, answer_shown):
    from quizzes.models import Question

    d = desk(org.secretary_a)
    assert 'name="kind"' in d.get("/console/questions/new").get_data(as_text=True)
    stem = {"single": "党的根本宗旨是什么？", "multiple": "新时代党的建设包括哪些？",
            "judge": "党员必须履行党章规定的义务。", "blank": "全心全意为____服务。"}[kind]
    response = d.post("/console/questions/new", {"kind": kind, "stem": stem, "difficulty": "2", "tags": "党章 宗旨",
                                                 "explanation": "见党章总纲", "source": "党章", **fields})
    assert response.status_code == 302, response.get_data(as_text=True)
    question = db.session.scalar(select(Question).where(Question.stem == stem))
    assert (question.kind == kind and question.branch_id == org.branch_a.id
            and question.created_by_id == org.secretary_a.id)
    page = d.get(response.headers["Location"]).get_data(as_text=True)
    assert stem in page and answer_shown in page


def test_an_admins_question_goes_to_the_committee_bank(org, desk):
    from quizzes.models import Question

    d = desk(org.admin_a)
    response = d.post("/console/questions/new", {"kind": "judge", "stem": "党委题库判断题。", "answer": "错误"})
    assert response.status_code == 302
    question = db.session.scalar(select(Question).where(Question.stem == "党委题库判断题。"))
    assert question.committee_id == org.committee_a.id and question.branch_id is None


@pytest.mark.parametrize("form, field", [
    ({"kind": "single", "stem": "只有一个选项？", "options": "唯一", "answer": "A"}, "选项"),
    ({"kind": "single", "stem": "答案越界？", "options": "甲\n乙", "answer": "D"}, "答案"),
    ({"kind": "essay", "stem": "论述题？", "answer": "略"}, "题型"),
    ({"kind": "judge", "stem": "", "answer": "正确"}, "题干"),
])
def test_a_bad_question_names_the_field_and_writes_nothing(org, desk, form, field):
    from quizzes.models import Question

    d = desk(org.secretary_a)
    response = d.post("/console/questions/new", form)
    assert response.status_code == 422 and field in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Question)) == 0


def test_a_duplicate_stem_is_refused(org, desk):
    d = desk(org.secretary_a)
    body = {"kind": "judge", "stem": "党的最高理想是实现共产主义。", "answer": "正确"}
    assert d.post("/console/questions/new", body).status_code == 302
    again = d.post("/console/questions/new", body)
    assert again.status_code == 422 and "题干重复" in again.get_data(as_text=True)


def test_a_past_posting_opens_frozen_from_the_tally(org, desk, client, login, frozen):
    frozen("2026-10-20 10:00")
    d = desk(org.secretary_a)
    assert d.post(f"/console/branches/{org.branch_a.id}/tally/post").status_code == 302
    frozen("2026-11-23 10:00")
    d = desk(org.secretary_a)  # a month later: a new console session
    factories.member(org.branch_a, name="新党员陈八")  # joins after October's posting
    tally = d.get(f"/console/branches/{org.branch_a.id}/tally").get_data(as_text=True)
    link = re.search(rf'href="(/console/branches/{org.branch_a.id}/tally/postings/\d+)"', tally)
    assert link, "the tally page links to the posting"
    page = d.get(link.group(1))
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "2026-10 1+4+1 公示" in html and "张三" in html
    assert "新党员陈八" not in html  # frozen: exactly what was posted
    assert "新党员陈八" in d.get(f"/console/branches/{org.branch_a.id}/tally").get_data(as_text=True)


def test_a_posting_is_only_opened_through_its_own_branch(org, desk):
    d = desk(org.secretary_a)
    d.post(f"/console/branches/{org.branch_a.id}/tally/post")
    from quotas.models import QuotaPosting

    posting_id = db.session.scalar(select(QuotaPosting.id))
    assert desk(org.secretary_b).get(
        f"/console/branches/{org.branch_a.id}/tally/postings/{posting_id}").status_code == 404
    assert desk(org.admin_a).get(f"/console/branches/{org.branch_a2.id}/tally/postings/{posting_id}").status_code == 404
    assert desk(org.admin_a).get(f"/console/branches/{org.branch_a.id}/tally/postings/{posting_id}").status_code == 200


def _count_queries(fn):
    statements = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    return len(statements)


def _past_quiz(client, org, login, frozen, moment):
    """A1's quiz of a week now past: set while that week was current, then back to Monday 23 November."""
    from tests.quizzes.helpers import make_bank

    frozen(moment)
    bank = make_bank(org.committee_a, branch=org.branch_a)
    response = client.post(f"/api/v1/branches/{org.branch_a.id}/quizzes", headers=login(org.secretary_a),
                           json={"question_ids": [q.id for q in bank]})
    assert response.status_code in (200, 201), response.get_json()
    frozen("2026-11-23 10:00")


def test_the_finished_weeks_are_cached_and_a_warm_page_asks_a_bounded_number_of_queries(
        app, org, desk, client, login, frozen):
    frozen("2026-11-23 10:00")
    d = desk(org.admin_a)  # (its first page already filled the cache)
    get_redis().delete(*get_redis().keys("bs:console:series:*"))
    cold = _count_queries(lambda: d.get("/console/"))
    warm = _count_queries(lambda: d.get("/console/"))
    # Cold asks the 11 finished weeks one by one (reading + quizzes per week); warm reads them from one Redis key.
    assert warm <= cold - 22 and warm <= 15
    keys = get_redis().keys("bs:console:series:*")
    assert len(keys) == 1 and 0 < get_redis().ttl(keys[0]) <= app.config["CONSOLE_SERIES_TTL"]
    _past_quiz(client, org, login, frozen, "2026-11-04 10:00")  # more quizzes cost a warm page nothing
    assert _count_queries(lambda: d.get("/console/")) == warm


def test_the_series_shows_past_quizzes_and_the_live_current_week(org, desk, client, login, frozen):
    from console import stats

    _past_quiz(client, org, login, frozen, "2026-11-10 10:00")
    with db.session.no_autoflush:
        data = stats.overview(org.secretary_a, org.branch_a)
    weeks = data["series"]["weeks"]
    assert len(weeks) == 12 and weeks[-1] == "2026-W48" and weeks[-2] == "2026-W47"
    assert data["series"]["participation"][weeks.index("2026-W46")] == 0.0  # a quiz nobody took
    assert data["series"]["reading"][-1] == data["reading"]["rate"]  # the last point is the card's figure


def test_the_series_survives_redis_being_down(org, desk, frozen, monkeypatch):
    from redis.exceptions import ConnectionError as RedisConnectionError

    frozen("2026-11-23 10:00")
    d = desk(org.admin_a)

    def down(*args, **kwargs):
        raise RedisConnectionError("down")

    client = get_redis()
    monkeypatch.setattr(client, "get", down)
    monkeypatch.setattr(client, "set", down)
    page = d.get("/console/")
    assert page.status_code == 200 and page.get_data(as_text=True).count("<svg") == 2
