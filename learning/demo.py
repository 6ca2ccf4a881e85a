"""Demo data for 每日学习: two weeks of material around today and some reading history with points."""
import random
from datetime import datetime, time, timedelta

from flask import current_app

from core import clock
from core.extensions import db
from learning import points, rules
from learning.content import render_body
from learning.models import Material, Reading
from learning.services.visibility import _expand_audience

COMMITTEE_ITEMS = [
    ("学习贯彻党的二十届四中全会精神", "人民网", "article", 6, ["全会精神", "理论"]),
    ("习近平新时代中国特色社会主义思想学习纲要（选读）", "求是网", "article", 8, ["理论"]),
    ("新质生产力的科学内涵", "新华网", "article", 5, ["经济"]),
    ("《求是》杂志发表重要文章", "求是网", "article", 7, ["理论", "求是"]),
    ("纪录片《数说中国》第一集", "学习强国", "video", 10, ["视频", "发展成就"]),
    ("全面从严治党永远在路上", "人民网", "article", 5, ["党建"]),
    ("中央八项规定精神学习问答", "共产党员网", "document", 6, ["纪律", "作风"]),
    ("铭记历史 缅怀先烈：遵义会议", "学习强国", "video", 8, ["党史"]),
    ("以高质量发展推进中国式现代化", "新华网", "article", 6, ["经济", "现代化"]),
    ("《中国共产党纪律处分条例》解读", "共产党员网", "document", 9, ["纪律"]),
    ("坚定文化自信 建设文化强国", "光明网", "article", 5, ["文化"]),
    ("基层党组织建设的生动实践", "人民网", "article", 4, ["党建", "基层"]),
    ("党的创新理论“微课堂”", "学习强国", "video", 6, ["理论", "微课"]),
    ("生态文明建设的中国方案", "新华网", "article", 5, ["生态"]),
]
HISTORY_WEEKS = 12  # a full quarter: every week of the console's 12-week charts has figures
BRANCH_ITEMS = ["本支部本周学习要点", "岗位建功与党员先锋岗", "安全生产与责任担当", "读书分享：《红星照耀中国》"]
BODY = ("## 学习要点\n\n- 深刻领会精神实质，把握核心要义\n- 结合岗位实际，推动学习成果转化\n\n"
        "> 学而信、学而思、学而行。\n\n请认真阅读原文，并在支部学习交流中分享体会。")


def seed(ctx):
    """Add the committee's material for a quarter back (daily for the last week, twice a week before: the console's
    12-week charts) and a week ahead, the branches' for a week either side, and reading history with points."""
    today = clock.today()
    materials = _seed_materials(ctx, today)
    _seed_readings(ctx, materials, today, random.Random(20261121))
    ctx["materials"] = [m for m, _ in materials]


def _seed_materials(ctx, today):
    """The committee's and the branches' materials with their audiences: [(material, audience ids)]."""
    admin, committee = ctx["admin"], ctx["committee"]
    materials = []
    for offset in range(-7 * HISTORY_WEEKS, 7):
        day = today + timedelta(days=offset)
        if offset < -7 and day.weekday() not in (0, 3):
            continue  # before last week, two items a week: enough for the charts, quick to seed
        title, source, kind, minutes, tags = COMMITTEE_ITEMS[(offset + 7) % len(COMMITTEE_ITEMS)]
        materials.append((_material(admin, committee.id, None, day, title, source, kind, minutes, tags),
                          [committee.id]))
        if day.weekday() < 5 and offset >= -7:
            for index, (branch, secretary) in enumerate(zip(ctx["branches"], ctx["secretaries"])):
                title = BRANCH_ITEMS[(offset + index) % len(BRANCH_ITEMS)]
                materials.append((_material(secretary, committee.id, branch.id, day, f"{branch.name}：{title}",
                                            branch.name, "article", 3, ["支部学习"]), [branch.id]))
    db.session.flush()
    for material, ids in materials:
        _expand_audience(material, ids)
    return materials


def _seed_readings(ctx, materials, today, rng):
    """Reading history up to today: each member reads as diligently as drawn, the demo login every day."""
    config = current_app.config
    by_branch = {}
    for member in ctx["members"]:
        by_branch.setdefault(member.branch_id, []).append(member)
    diligence = {m.id: rng.choice([0.95, 0.85, 0.6, 0.3]) for m in ctx["members"]}
    for member in ctx["members"]:
        if member.openid == "demo-member":
            diligence[member.id] = 1.0  # the demo login shows a real streak
    for material, ids in materials:
        if material.day > today:
            continue
        readers = [m for b in (by_branch if material.branch_id is None else [material.branch_id])
                   for m in by_branch.get(b, [])]
        for member in readers:
            if rng.random() > diligence[member.id] or (material.day == today and rng.random() < 0.5):
                continue
            _read(member, material, rng, config)


def _material(author, committee_id, branch_id, day, title, source, kind, minutes, tags):
    now = clock.now()
    material = Material(title=title, source=source, url="https://www.12371.cn/", summary=f"{title}——学习要点与解读",
                        body=render_body(BODY, "markdown"), kind=kind, estimated_minutes=minutes, day=day,
                        audience="committee" if branch_id is None else "branches", committee_id=committee_id,
                        branch_id=branch_id, author_id=author.id, status="published",
                        published_at=now - timedelta(days=8), created_at=now, updated_at=now)
    material.tags = tags
    db.session.add(material)
    return material


def _read(member, material, rng, config):
    start = datetime.combine(material.day, time(7, 30), clock.TZ) + timedelta(minutes=rng.randint(0, 13 * 60))
    start = min(start, clock.now() - timedelta(minutes=30))
    needed = rules.required_seconds(material.estimated_minutes, config["READ_MIN_SECONDS"],
                                    config["READ_SECONDS_PER_MINUTE"])
    seconds = rules.credited_seconds(needed + rng.randint(10, 600), None, material.estimated_minutes)
    done = start + timedelta(seconds=seconds)
    reading = Reading(member_id=member.id, material_id=material.id, day=material.day, opened_at=start,
                      finished_at=done, seconds=seconds, completed_at=done, completed_day=clock.local_day_of(done))
    db.session.add(reading)
    db.session.flush()
    spec = config["POINT_RULES"]["study_minutes"]
    points.award(member.id, "material_studied", f"read:{reading.id}", occurred_at=done,
                 meta={"material_id": material.id})
    points.award(member.id, "study_minutes", f"read-minutes:{reading.id}", occurred_at=done,
                 points=rules.minute_points(seconds, spec.get("per_minutes", 1), spec["points"]),
                 meta={"material_id": material.id, "seconds": seconds})
