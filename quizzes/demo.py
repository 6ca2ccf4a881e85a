"""Demo data for 每周一测: a 42-question bank, last week's closed quiz with results, this week's open quiz."""
import random
from datetime import timedelta

from core import clock
from core.extensions import db
from quizzes import grading, services
from quizzes.grading import JUDGE_OPTIONS, OPTION_KEYS
from quizzes.models import Attempt, Question, Quiz, QuizItem

SOURCE_PARTY = "《中国共产党章程》"
SOURCE_HISTORY = "《中国共产党简史》"
SOURCE_REPORT = "党的二十大报告"

# (stem, options, answer, explanation, tags, difficulty, source)
SINGLE = [
    ("中国共产党的最高理想和最终目标是？", ["实现共产主义", "全面建成小康社会", "实现祖国统一", "建成现代化强国"], "A",
     "党章总纲：党的最高理想和最终目标是实现共产主义。", "党章", 1, SOURCE_PARTY),
    ("中国共产党的根本宗旨是？", ["全心全意为人民服务", "发展社会生产力", "坚持改革开放", "维护国家安全"], "A",
     "全心全意为人民服务是党的根本宗旨。", "党章", 1, SOURCE_PARTY),
    ("党的组织原则是？", ["民主集中制", "集体领导", "个人分工负责", "少数服从多数"], "A",
     "党是根据自己的纲领和章程，按照民主集中制组织起来的统一整体。", "党章,组织", 1, SOURCE_PARTY),
    ("预备党员的预备期为多长时间？", ["一年", "半年", "两年", "三年"], "A",
     "党章第七条：预备期为一年。", "党章,组织", 1, SOURCE_PARTY),
    ("党员如果没有正当理由，连续多少个月不参加党的组织生活、不交纳党费，就被认为是自行脱党？",
     ["六个月", "三个月", "九个月", "十二个月"], "A",
     "党章第九条规定为连续六个月。", "党章,组织", 2, SOURCE_PARTY),
    ("中国共产党第一次全国代表大会最后一天的会议在哪里举行？", ["浙江嘉兴南湖", "上海", "北京", "广州"], "A",
     "一大在上海开幕，因遭法租界巡捕搜查，最后一天转到嘉兴南湖的游船上举行。", "党史", 1, SOURCE_HISTORY),
    ("标志着中国共产党在思想上政治上组织上走向成熟的会议是？", ["遵义会议", "古田会议", "八七会议", "洛川会议"], "A",
     "遵义会议是党的历史上一个生死攸关的转折点。", "党史", 2, SOURCE_HISTORY),
    ("确立“党指挥枪”原则的会议是？", ["古田会议", "三湾改编", "遵义会议", "瓦窑堡会议"], "A",
     "1929年古田会议决议确立了思想建党、政治建军原则。", "党史", 2, SOURCE_HISTORY),
    ("党的十一届三中全会召开于哪一年？", ["1978年", "1976年", "1982年", "1992年"], "A",
     "1978年12月召开，实现了新中国成立以来党的历史上具有深远意义的伟大转折。", "党史", 1, SOURCE_HISTORY),
    ("党的二十大报告指出，从现在起，中国共产党的中心任务是？",
     ["团结带领全国各族人民全面建成社会主义现代化强国、实现第二个百年奋斗目标，以中国式现代化全面推进中华民族伟大复兴",
      "全面建成小康社会", "实现祖国完全统一", "基本实现工业化"], "A",
     "见党的二十大报告第三部分。", "二十大", 2, SOURCE_REPORT),
    ("中国式现代化是人口规模巨大的现代化，我国人口规模超过多少？", ["十四亿", "十亿", "十二亿", "十六亿"], "A",
     "超过十四亿人口整体迈进现代化社会。", "二十大", 1, SOURCE_REPORT),
    ("党的基层组织中，党员人数多少以上的可以成立党的基层委员会？", ["一百人", "五十人", "三人", "三十人"], "A",
     "按照《中国共产党支部工作条例（试行）》，党员一百人以上的一般设立基层党委。", "组织", 3,
     "《中国共产党支部工作条例（试行）》"),
    ("“三会一课”中的“一课”指的是？", ["按时上好党课", "上好思政课", "上好业务课", "上好形势政策课"], "A",
     "三会一课：支部党员大会、支部委员会、党小组会和按时上好党课。", "组织", 1, "《中国共产党支部工作条例（试行）》"),
    ("党支部党员大会一般每季度召开几次？", ["1次", "2次", "3次", "每月1次"], "A", "支部党员大会一般每季度召开1次。",
     "组织", 2, "《中国共产党支部工作条例（试行）》"),
    ("中央八项规定是在哪一年出台的？", ["2012年", "2013年", "2014年", "2016年"], "A",
     "2012年12月中央政治局会议审议通过。", "纪律", 2, "《中共中央政治局关于改进工作作风、密切联系群众的八项规定》"),
    ("党的纪律处分工作应当坚持的原则不包括？",
     ["从重从严一律顶格", "党要管党、从严治党", "实事求是", "惩前毖后、治病救人"],
     "A", "纪律处分条例规定的是惩前毖后、治病救人等原则，而非一律顶格。", "纪律", 3, "《中国共产党纪律处分条例》"),
]
MULTIPLE = [
    ("“四个意识”包括？", ["政治意识", "大局意识", "核心意识", "看齐意识", "忧患意识"], "ABCD",
     "四个意识：政治意识、大局意识、核心意识、看齐意识。",
     "理论", 1, "党的十八届六中全会"),
    ("“四个自信”包括？", ["道路自信", "理论自信", "制度自信", "文化自信", "历史自信"], "ABCD",
     "中国特色社会主义道路自信、理论自信、制度自信、文化自信。",
     "理论", 1, SOURCE_REPORT),
    ("党的纪律主要包括？", ["政治纪律", "组织纪律", "廉洁纪律", "群众纪律", "工作纪律", "生活纪律"], "ABCDEF",
     "六大纪律：政治、组织、廉洁、群众、工作、生活纪律。", "纪律", 2, "《中国共产党纪律处分条例》"),
    ("“三会一课”中的“三会”是指？", ["支部党员大会", "支部委员会", "党小组会", "民主生活会"], "ABC",
     "民主生活会不属于三会一课中的三会。", "组织", 2, "《中国共产党支部工作条例（试行）》"),
    ("党员的权利包括？",
     ["参加党的有关会议", "在党的会议上参加讨论", "表决权、选举权", "对党的工作提出建议", "免于批评"], "ABCD",
     "党员没有“免于批评”的权利。", "党章", 2, SOURCE_PARTY),
    ("新时代党的建设总要求中，要全面推进党的哪些建设？",
     ["政治建设", "思想建设", "组织建设", "作风建设", "纪律建设", "经济建设"], "ABCDE",
     "经济建设不属于党的建设的组成部分。", "党建", 2, SOURCE_REPORT),
    ("中国式现代化的特征有？",
     ["人口规模巨大", "全体人民共同富裕", "物质文明和精神文明相协调", "人与自然和谐共生", "走和平发展道路"],
     "ABCDE", "五个方面的中国特色。", "二十大", 2, SOURCE_REPORT),
    ("遵义会议解决了哪些问题？", ["军事问题", "组织问题", "土地问题", "统一战线问题"], "AB",
     "遵义会议集中解决了当时具有决定意义的军事和组织问题。", "党史", 3, SOURCE_HISTORY),
    ("党的作风建设要反对“四风”，“四风”是指？", ["形式主义", "官僚主义", "享乐主义", "奢靡之风", "本位主义"], "ABCD",
     "四风：形式主义、官僚主义、享乐主义和奢靡之风。", "纪律,作风", 1, "党的群众路线教育实践活动"),
    ("“两个确立”的内容包括确立哪些？",
     ["习近平同志党中央的核心、全党的核心地位", "习近平新时代中国特色社会主义思想的指导地位",
      "党的领导制度体系", "全面从严治党战略"], "AB",
     "党的十九届六中全会概括的“两个确立”。", "理论", 2, "党的十九届六中全会决议"),
]
JUDGE = [
    ("党员有权对党的决议和政策提出建议。", "T", "这是党员的权利之一。", "党章", 1, SOURCE_PARTY),
    ("预备党员享有表决权、选举权和被选举权。", "F", "预备党员除没有表决权、选举权和被选举权以外，同正式党员一样。",
     "党章", 2, SOURCE_PARTY),
    ("党支部是党的基础组织，是党在社会基层组织中的战斗堡垒。", "T", "党章第五章规定。", "组织", 1, SOURCE_PARTY),
    ("中国共产党成立于1921年7月1日召开的一大。", "F", "一大于1921年7月23日开幕，7月1日是党的诞辰纪念日。", "党史", 3,
     SOURCE_HISTORY),
    ("党员受到留党察看处分期间，没有表决权、选举权和被选举权。", "T", "党章第四十条规定。", "纪律", 2, SOURCE_PARTY),
    ("党小组会一般每月召开1次。", "T", "《支部工作条例》规定党小组会一般每月召开1次。", "组织", 2,
     "《中国共产党支部工作条例（试行）》"),
    ("民主评议党员一般每年开展一次。", "T", "民主评议党员一般每年开展1次。", "组织", 2,
     "《中国共产党支部工作条例（试行）》"),
    ("党费可以由他人代缴，无需本人知晓。", "F", "党员应当主动按月交纳党费。", "组织", 1,
     "《关于中国共产党党费收缴、使用和管理的规定》"),
]
BLANK = [
    ("中国共产党第一次全国代表大会于____年召开。", "1921", "1921年7月23日在上海开幕。", "党史", 1, SOURCE_HISTORY),
    ("党的组织原则是____制。", "民主集中", "民主集中制是党的根本组织原则。", "党章,组织", 1, SOURCE_PARTY),
    ("党的思想路线是一切从实际出发，理论联系实际，____，在实践中检验真理和发展真理。", "实事求是|实事求是地",
     "党章总纲。", "党章", 2, SOURCE_PARTY),
    ("“两个务必”是指务必使同志们继续地保持谦虚、谨慎、不骄、不躁的作风，务必使同志们继续地保持____的作风。", "艰苦奋斗",
     "毛泽东在党的七届二中全会上提出。", "党史", 2, SOURCE_HISTORY),
    ("党的二十大于____年____月召开。", "2022;10|十", "2022年10月16日至22日召开。", "二十大", 1, SOURCE_REPORT),
    ("中国共产党人的初心和使命，就是为中国人民谋____，为中华民族谋____。", "幸福;复兴", "党的十九大报告。", "理论", 1,
     "党的十九大报告"),
    ("新民主主义革命的三大法宝是统一战线、武装斗争和____。", "党的建设|党建", "毛泽东《〈共产党人〉发刊词》。",
     "党史", 2, SOURCE_HISTORY),
    ("党章规定，党的最高领导机关是党的全国代表大会和它所产生的____。", "中央委员会|中央委员会", "党章第十条。",
     "党章", 3, SOURCE_PARTY),
]


def _questions(committee):
    made = []
    for stem, options, answer, explanation, tags, level, source in SINGLE:
        made.append(Question(kind="single", stem=stem, options=_options(options), answer=answer,
                             explanation=explanation, tags=_tags(tags), difficulty=level, source=source))
    for stem, options, answer, explanation, tags, level, source in MULTIPLE:
        made.append(Question(kind="multiple", stem=stem, options=_options(options), answer=sorted(answer),
                             explanation=explanation, tags=_tags(tags), difficulty=level, source=source))
    for stem, answer, explanation, tags, level, source in JUDGE:
        made.append(Question(kind="judge", stem=stem, options=list(JUDGE_OPTIONS), answer=answer,
                             explanation=explanation, tags=_tags(tags), difficulty=level, source=source))
    for stem, answer, explanation, tags, level, source in BLANK:
        made.append(Question(kind="blank", stem=stem, options=[],
                             answer=[sorted(set(v.split("|")), key=v.split("|").index) for v in answer.split(";")],
                             explanation=explanation, tags=_tags(tags), difficulty=level, source=source))
    for question in made:
        question.committee_id = committee.id
        question.stem_key = grading.stem_key(question.stem)
    db.session.add_all(made)
    db.session.flush()
    return made


def _options(texts):
    return [{"key": OPTION_KEYS[i], "text": t} for i, t in enumerate(texts)]


HISTORY_WEEKS = 12  # this week and the eleven before it: the console's 12-week charts


def _tags(text):
    return "," + text + ","


def _quiz(committee, admin, questions, day, title):
    start, end = clock.week_bounds(day)
    quiz = Quiz(committee_id=committee.id, scope_key=f"c:{committee.id}", week_key=clock.week_key(day), title=title,
                opens_at=start, closes_at=end, time_limit_minutes=15, max_attempts=1, total_score=10 * len(questions),
                pass_score=6 * len(questions), reveal_answers=True, created_by_id=admin.id, created_at=start,
                assembly={"rules": [{"kind": "single", "count": 4}, {"kind": "multiple", "count": 2},
                                    {"kind": "judge", "count": 2}, {"kind": "blank", "count": 2}], "avoid_weeks": 4})
    quiz.items = [QuizItem(question_id=q.id, position=i + 1, points=10) for i, q in enumerate(questions)]
    db.session.add(quiz)
    db.session.flush()
    return quiz


def _pick(rng, questions):
    by_kind = {}
    for q in questions:
        by_kind.setdefault(q.kind, []).append(q)
    return (rng.sample(by_kind["single"], 4) + rng.sample(by_kind["multiple"], 2) + rng.sample(by_kind["judge"], 2)
            + rng.sample(by_kind["blank"], 2))


def _response(rng, question, right):
    if right:
        return question.answer if question.kind != "blank" else [v[0] for v in question.answer]
    if question.kind in ("single", "judge"):
        return rng.choice([o["key"] for o in question.options if o["key"] != question.answer])
    if question.kind == "multiple":
        return question.answer[:-1]
    return ["不会"] * len(question.answer)


def _take(rng, quiz, member, when, ability):
    attempt = Attempt(quiz_id=quiz.id, member_id=member.id, branch_id=member.branch_id, number=1, answers={},
                      started_at=when, deadline_at=when + timedelta(minutes=quiz.time_limit_minutes), order=[])
    db.session.add(attempt)
    db.session.flush()
    questions = [{"id": i.question_id, "kind": i.question.kind, "options": i.question.options} for i in quiz.items]
    attempt.order = grading.shuffled_order(f"attempt:{attempt.id}", questions)
    attempt.answers = {str(i.question_id): _response(rng, i.question, rng.random() < ability) for i in quiz.items}
    attempt.saved_at = when + timedelta(minutes=rng.randint(3, 12))
    services.grade_attempt(attempt, quiz, attempt.saved_at)
    return attempt


def seed(ctx):
    """Add the bank, last week's closed quiz (about 85% took it), this week's open quiz, partly taken, and a closed
    quiz for each of the ten weeks before last."""
    rng = random.Random(20261121)
    committee, admin, members = ctx["committee"], ctx["admin"], ctx["members"]
    questions = _questions(committee)
    today = clock.today()
    last_monday = clock.week_monday(today) - timedelta(days=7)
    last = _quiz(committee, admin, _pick(rng, questions), last_monday, f"每周一测（{clock.week_key(last_monday)}）")
    used = {i.question_id for i in last.items}
    this = _quiz(committee, admin, _pick(rng, [q for q in questions if q.id not in used]), today,
                 f"每周一测（{clock.week_key(today)}）")
    for member in members:
        ability = rng.uniform(0.45, 0.98)
        if rng.random() < 0.85:
            day = last_monday + timedelta(days=rng.randint(0, 6))
            when = clock.day_bounds(day)[0] + timedelta(hours=rng.randint(1, 14), minutes=rng.randint(0, 59))
            _take(rng, last, member, when, ability)
        elapsed = (clock.now() - this.opens_at).total_seconds()
        if member.openid != "demo-member" and elapsed > 3600 and rng.random() < 0.4:
            # Some have already taken this week's quiz; the demo member's is left for you to try.
            _take(rng, this, member, this.opens_at + timedelta(seconds=rng.randint(0, int(elapsed) - 1800)), ability)
    last.closed_at = last.closes_at
    # The quarter before last week, closed, so the console's 12-week charts have every week.
    for weeks_back in range(2, HISTORY_WEEKS):
        monday = clock.week_monday(today) - timedelta(weeks=weeks_back)
        past = _quiz(committee, admin, _pick(rng, questions), monday, f"每周一测（{clock.week_key(monday)}）")
        for member in members:
            if rng.random() < rng.uniform(0.7, 0.95):
                when = clock.day_bounds(monday + timedelta(days=rng.randint(0, 6)))[0] + timedelta(hours=9)
                _take(rng, past, member, when, rng.uniform(0.45, 0.98))
        past.closed_at = past.closes_at
    ctx.update(question_bank=questions, last_quiz=last, current_quiz=this)
