"""The demo gains a bank of 40+ questions of every type, eleven closed weeks of quizzes with results (the console's
12-week charts), this week's open one."""
from core import clock
from core.extensions import db
from quizzes.models import Question, Quiz, QuizResult
from quizzes.services import close_due_quizzes


def test_seed_demo_adds_a_bank_and_two_quizzes(app, client, ctx, frozen):
    frozen("2026-11-25 15:00")
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    kinds = dict(db.session.execute(db.select(Question.kind, db.func.count()).group_by(Question.kind)).all())
    assert sum(kinds.values()) >= 40 and set(kinds) == {"single", "multiple", "judge", "blank"}
    quizzes = db.session.scalars(db.select(Quiz).order_by(Quiz.week_key)).all()
    assert [q.week_key for q in quizzes] == [f"2026-W{w}" for w in range(37, 49)]  # a quarter for the charts
    assert all(q.closed_at is not None for q in quizzes[:-1])
    last, this = quizzes[-2:]
    assert last.phase() == "closed" and last.closed_at is not None and this.phase() == "open"
    taken = db.session.scalar(db.select(db.func.count()).where(QuizResult.quiz_id == last.id))
    assert 40 <= taken <= 66
    assert not {i.question_id for i in last.items} & {i.question_id for i in this.items}
    assert close_due_quizzes(clock.now()) == []
    member = client.post("/api/v1/auth/wechat", json={"code": "dev:demo-member"}).get_json()
    headers = {"Authorization": "Bearer " + member["token"]}
    current = client.get("/api/v1/quizzes/current", headers=headers).get_json()
    assert current["quiz"]["id"] == this.id and current["state"] == "not_started"
    secretary = client.post("/api/v1/auth/wechat", json={"code": "dev:demo-secretary"}).get_json()
    items = client.get(f"/api/v1/quizzes/{last.id}/items",
                       headers={"Authorization": "Bearer " + secretary["token"]}).get_json()
    assert items["takers"] == taken and len(items["items"]) == 10
