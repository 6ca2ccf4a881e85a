"""Demo 1+4+1 data for `seed-demo`: this year's exchanges, attendance and book reports in every state."""
import random
import secrets
from datetime import datetime, time, timedelta

from core import clock
from core.extensions import db
from learning import points
from quotas import rules, stats
from quotas.models import Attendance, BookReport, Exchange, ExchangeSpeaker, QuotaPosting

TOPICS = [
    ("微服务拆分中的数据一致性实践", "结合订单中心改造，分享本地消息表与最终一致性的落地经验。"),
    ("变电站巡检机器人图像识别算法交流", "介绍缺陷识别模型的训练数据构建与现场误报治理。"),
    ("安全生产标准化与隐患排查方法", "梳理近三年典型隐患案例，讨论班组自查清单的改进。"),
    ("国产数据库迁移经验分享", "从 Oracle 迁移到国产数据库的兼容性问题与性能调优。"),
    ("精益生产与设备综合效率提升", "以二号产线为例，讲解 OEE 统计口径与改善课题。"),
    ("财务共享中心流程自动化", "RPA 在报销审核中的应用，以及内控风险点的把关。"),
    ("网络安全等级保护 2.0 要点解读", "对照等保要求梳理我单位系统的整改清单。"),
    ("新型电力系统与储能技术前沿", "介绍电化学储能的技术路线和在园区微电网中的应用。"),
]
PLACES = ["三楼党员活动室", "一号会议室", "职工书屋", "生产调度中心会议室"]
BOOKS = [
    ("数据密集型应用系统设计", "Martin Kleppmann", "9787519821186"),
    ("凤凰架构", "周志明", None),
    ("深入理解计算机系统", "Randal E. Bryant", "9787111544937"),
    ("精益思想", "詹姆斯·P.沃麦克", None),
    ("卓有成效的管理者", "彼得·德鲁克", None),
    ("习近平新时代中国特色社会主义思想学习纲要", "中共中央宣传部", None),
    ("电力系统分析", "何仰赞", None),
    ("人月神话", "弗雷德里克·布鲁克斯", None),
]
REFLECTIONS = [
    "读完这本书，我对本专业的基础原理有了更系统的认识。书中关于权衡取舍的论述让我反思了我们项目中的几处设计决定，"
    "尤其是在可靠性和成本之间的平衡。结合本部门的实际工作，我计划在下季度推动两项改进：一是完善故障复盘机制，"
    "二是把关键经验沉淀为班组培训材料，带动身边同事共同提高。",
    "这本书理论联系实际，案例丰富。作为一名党员，我认为学习专业知识同样是践行初心使命的方式。书中提出的方法"
    "可以直接用在我们的日常工作中，我已经在班组内组织了一次小范围的分享，大家反响很好，下一步准备形成书面总结，"
    "供其他班组参考借鉴，真正做到学以致用、以学促干。",
]
REJECT_REASONS = ["心得过于笼统，请结合本岗位工作谈体会", "所报书籍与专业技术关系不大，请更换"]


def seed(ctx):
    """Add this year's exchanges (approved, pending, rejected, one upcoming), attendance, books and postings."""
    rng = random.Random(541)
    now = clock.now()
    today = clock.today()
    year = today.year
    days_so_far = max((today - today.replace(month=1, day=1)).days, 1)
    by_branch = {}
    for member in ctx["members"]:
        by_branch.setdefault(member.branch_id, []).append(member)
    exchanges = []
    for b_index, branch in enumerate(ctx["branches"]):
        people = by_branch[branch.id]
        secretary = next(m for m in people if m.role == "secretary")
        plain = [m for m in people if m.role == "member"]
        for n in range(6):
            day = today.replace(month=1, day=1) + timedelta(days=int(days_so_far * (n + 0.5) / 6))
            starts = _at(day, 14 + n % 3)
            if starts >= now:
                starts = now - timedelta(days=1, hours=n)
            speaker = plain[(n * 3 + b_index) % len(plain)]
            exchange = _exchange(rng, branch, secretary, starts, [speaker], "approved", shared=(n == 2))
            attendees = rng.sample([m for m in people if m.id != speaker.id], k=rng.randint(9, 16))
            for member in attendees:
                via = "checkin" if rng.random() < 0.7 else "secretary"
                db.session.add(Attendance(exchange_id=exchange.id, member_id=member.id, via=via,
                                          recorded_by_id=secretary.id if via == "secretary" else None,
                                          recorded_at=starts + timedelta(minutes=rng.randint(0, 20))))
                points.award(member.id, "quota_exchange_attended", f"quota:attend:{exchange.id}:{member.id}",
                             occurred_at=starts)
            exchanges.append(exchange)
        # A proposal awaiting approval, a rejected one, and an upcoming exchange whose check-in code works live.
        proposer = plain[(b_index + 5) % len(plain)]
        _exchange(rng, branch, secretary, now + timedelta(days=5), [proposer], "pending", proposer=proposer)
        rejected = _exchange(rng, branch, secretary, now - timedelta(days=20), [plain[(b_index + 7) % len(plain)]],
                             "rejected", proposer=plain[(b_index + 7) % len(plain)])
        rejected.reject_reason = "主题与本支部专业方向关系不大，建议调整后再提"
        _exchange(rng, branch, secretary, now + timedelta(minutes=30), [plain[(b_index + 9) % len(plain)]],
                  "approved")
        _books(rng, people, secretary, year, today)
    db.session.flush()
    for branch in ctx["branches"]:
        _posting(branch, year, now)
    ctx["quota_exchanges"] = exchanges


def _at(day, hour):
    return datetime.combine(day, time(hour, 0), clock.TZ).astimezone(clock.UTC)


def _exchange(rng, branch, secretary, starts, speakers, status, shared=False, proposer=None):
    title, summary = rng.choice(TOPICS)
    exchange = Exchange(committee_id=branch.committee_id, branch_id=branch.id, year=clock.to_local(starts).year,
                        title=title, summary=summary, starts_at=starts, ends_at=starts + timedelta(hours=2),
                        place=rng.choice(PLACES), shared=shared, status=status,
                        created_by_id=(proposer or secretary).id,
                        proposed_by_id=proposer.id if proposer else None, checkin_salt=secrets.token_hex(8),
                        reviewed_by_id=secretary.id if status != "pending" else None,
                        reviewed_at=starts - timedelta(days=3) if status != "pending" else None)
    held = status == "approved" and exchange.ends_at <= clock.now()
    exchange.settled_at = exchange.ends_at if held else None  # paid here, as the settle job would have
    db.session.add(exchange)
    db.session.flush()
    for speaker in speakers:
        db.session.add(ExchangeSpeaker(exchange_id=exchange.id, member_id=speaker.id))
        if held:
            points.award(speaker.id, "quota_talk_given", f"quota:talk:{exchange.id}:{speaker.id}",
                         occurred_at=starts)
    return exchange


def _books(rng, people, secretary, year, today):
    for member in people:
        if member.role == "secretary":
            continue
        for title, author, isbn in rng.sample(BOOKS, k=rng.choice((0, 1, 1, 2))):
            finished = today - timedelta(days=rng.randint(1, 200))
            if finished.year != year:
                finished = today
            status = rng.choices(("approved", "pending", "rejected"), weights=(6, 2, 1))[0]
            report = BookReport(member_id=member.id, year=finished.year, title=title, author=author, isbn=isbn,
                                book_key=rules.book_key(title, author, isbn), finished_on=finished,
                                reflection=rng.choice(REFLECTIONS), status=status,
                                submitted_at=clock.now() - timedelta(days=rng.randint(0, 10)),
                                reject_reason=rng.choice(REJECT_REASONS) if status == "rejected" else None,
                                reviewed_by_id=secretary.id if status != "pending" else None,
                                reviewed_at=clock.now() if status != "pending" else None)
            db.session.add(report)
            db.session.flush()
            if status == "approved":
                points.award(member.id, "quota_book_read", f"quota:book:{report.id}")


def _posting(branch, year, now):
    tally = stats.branch_tally(branch.id, year)
    local = clock.to_local(now)
    db.session.add(QuotaPosting(branch_id=branch.id, year=year, period=f"{local.year}-{local.month:02d}",
                                posted_at=now, policy=tally["policy"], rows=tally["members"],
                                member_count=tally["member_count"], complete_count=tally["complete_count"]))
