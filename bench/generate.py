"""Load a company-sized data set into PostgreSQL with COPY: 100,000 members, 5,000 branches, 20 committees.

History covers a quarter: 13 closed weekly quizzes with attempts and results, 30 days of material and reading
records, this year's 1+4+1 records (exchanges, speakers, attendance, book reports), and subscribe consents.
Each member gets an auth session; their signed tokens (exactly as members/auth.py signs them) are written to
TSV files that the wrk scripts read, so the load comes from many distinct members.

Run after `flask db upgrade heads` built the schema:  python -m bench.generate --database-url ... --out DIR
"""
import argparse
import hashlib
import io
import json
import os
import random
import secrets
import time
from datetime import datetime, timedelta

import psycopg
import sqlalchemy
from itsdangerous import URLSafeSerializer

from core import clock
from learning import rollups
from members.auth import SALT, token_claims
from quotas.rules import book_key

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕"
            "丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
GIVEN = ("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国"
         "志红玉梅海波宁晨晓东鹏辉鑫宇浩然子涵欣怡思远立新卫东永红春梅振华德胜文博雅婷佳琪俊杰")
UNITS = ["研发中心", "生产一部", "生产二部", "质量管理部", "供应链管理部", "财务部", "人力资源部", "市场营销部",
         "信息技术部", "安全环保部", "设备动力部", "工程技术部", "综合办公室", "审计部", "法务部", "采购中心"]
REGIONS = ["华北", "华东", "华南", "华中", "西南", "西北", "东北", "京津", "长三角", "珠三角", "成渝", "中原",
           "山东", "福建", "湖南", "江西", "广西", "云贵", "新疆", "海外"]
TOPICS = ["学习贯彻党的二十大精神", "习近平新时代中国特色社会主义思想学习纲要", "党章党规学习", "党史学习教育",
          "全面从严治党", "基层党组织建设", "新质生产力", "安全生产责任", "廉洁从业教育", "科技自立自强",
          "高质量发展", "党员先锋模范作用", "调查研究", "群众路线", "制度建设", "绿色低碳发展"]
BOOKS = [("习近平谈治国理政（第四卷）", "习近平"), ("中国共产党简史", "本书编写组"), ("数字化转型之路", "李明"),
         ("精益生产实践", "王强"), ("质量管理体系", "陈立"), ("软件工程：实践者的研究方法", "罗杰·普莱斯曼"),
         ("机器学习", "周志华"), ("深度工作", "卡尔·纽波特"), ("毛泽东选集（第一卷）", "毛泽东"),
         ("之江新语", "习近平"), ("红星照耀中国", "埃德加·斯诺"), ("工程伦理", "李正风"),
         ("高效能人士的七个习惯", "史蒂芬·柯维"), ("项目管理知识体系指南", "PMI"), ("安全生产法释义", "编写组")]
TEMPLATE = "tmpl-study-material"
QUESTIONS = 120
QUIZ_ITEMS = 10
POINTS = 10
PAST_WEEKS = 13
READ_DAYS = 30


def ts(moment):
    return moment.isoformat() if moment is not None else r"\N"


def _cell(value):
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


class Loader:
    """COPY rows into tables in big text chunks, timing each table."""

    def __init__(self, conn):
        self.conn = conn
        self.timings = {}
        self.counts = {}

    def copy(self, table, columns, rows):
        started = time.perf_counter()
        n = 0
        buf = io.StringIO()
        with self.conn.cursor() as cur:
            with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    buf.write("\t".join(_cell(v) for v in row))
                    buf.write("\n")
                    n += 1
                    if n % 50000 == 0:
                        copy.write(buf.getvalue())
                        buf = io.StringIO()
                copy.write(buf.getvalue())
        self.timings[table] = round(self.timings.get(table, 0) + time.perf_counter() - started, 2)
        self.counts[table] = self.counts.get(table, 0) + n
        return n


def person_name(rng):
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))


def rebuild_rollups(url):
    """Summarise the loaded readings into the per-branch rollups with the app's own statements."""
    engine = sqlalchemy.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as connection:
        rollups.rebuild(connection)
    engine.dispose()


ROOT = 1  # the group committee (集团公司党委), the root of the tree


def generate(database_url, out_dir, secret_key, committees=20, branches_per=250, members_per=20, seed=20261123):
    """Load the data set and write the token files; return a summary with counts and timings."""
    started = time.perf_counter()
    rng = random.Random(seed)
    now, today = clock.now(), clock.today()
    os.makedirs(out_dir, exist_ok=True)
    url = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:
        conn.execute("SET synchronous_commit = off")
        # The rows are consistent by construction: skip per-row foreign-key triggers (superuser, this session only).
        conn.execute("SET session_replication_role = replica")
        load = Loader(conn)
        # The steps draw from one random stream in this order: the same seed gives the same data set.
        branch_rows, members, admins = load_organisation(load, rng, now, today, committees, branches_per, members_per)
        tokens = load_sessions(load, now, URLSafeSerializer(secret_key, salt=SALT),
                               [*members, *((a[0], None, a[1], "admin") for a in admins)])
        author = admins[0][0]
        answers = load_question_bank(load, now, author)
        quiz_rows, quiz_questions = load_quizzes(load, rng, clock.week_monday(today), author)
        current_quiz = quiz_rows[-1][0]
        diligence = {m[0]: rng.uniform(0.35, 0.97) for m in members}
        load_quiz_history(load, rng, quiz_rows[:-1], quiz_questions, answers, members, diligence)
        today_material = load_learning(load, rng, now, today, branch_rows, members, diligence, author)
        load_quotas(load, rng, now, today, branch_rows, members, author)
        # --- notifications: a subscribe consent per member for the daily-material template ---------
        load.copy("subscription_consents", ["id", "member_id", "template_id", "remaining", "banned", "updated_at"],
                  ((i + 1, m[0], TEMPLATE, 2, False, now) for i, m in enumerate(members)))
        rollups_seconds, analyze_seconds = finish_database(conn, url)
    write_token_files(out_dir, random.Random(seed + 1), members, admins, tokens)
    facts = {"current_quiz": current_quiz, "current_questions": quiz_questions[current_quiz],
             "answers": {str(q): answers[q] for q in quiz_questions[current_quiz]},
             "today_material": today_material, "root_committee": ROOT, "template_id": TEMPLATE,
             "members": len(members), "branches": len(branch_rows), "committees": committees,
             "week_key": clock.week_key(today), "day": today.isoformat(),
             "openids": [f"bench-{m[0]}" for m in members]}
    with open(os.path.join(out_dir, "facts.json"), "w") as f:
        json.dump(facts, f)
    total = time.perf_counter() - started
    return {"seconds": round(total, 1), "analyze_seconds": round(analyze_seconds, 1),
            "rollups_seconds": round(rollups_seconds, 1), "rows": load.counts,
            "copy_seconds": load.timings, "rows_total": sum(load.counts.values())}


def load_organisation(load, rng, now, today, committees, branches_per, members_per):
    """Committees, branches, members (a secretary first in each branch) and admins; return the branch rows,
    the members as (id, branch_id, committee_id, role) and the admins as (id, committee_id)."""
    committee_rows = [(ROOT, "集团公司党委", None, "/1/", now)]
    for c in range(committees):
        cid = c + 2
        committee_rows.append((cid, f"{REGIONS[c % len(REGIONS)]}分公司党委{'' if c < len(REGIONS) else c}",
                               ROOT, f"/1/{cid}/", now))
    load.copy("committees", ["id", "name", "parent_id", "path", "created_at"], committee_rows)
    branch_rows = []
    for c in range(committees):
        for b in range(branches_per):
            branch_rows.append((len(branch_rows) + 1, c + 2, f"{UNITS[b % len(UNITS)]}第{b // len(UNITS) + 1}党支部",
                                now))
    load.copy("branches", ["id", "committee_id", "name", "created_at"], branch_rows)

    members = []
    member_rows = []
    mid = 0
    for branch_id, committee_id, _, _ in branch_rows:
        for k in range(members_per):
            mid += 1
            role = "secretary" if k == 0 else "member"
            members.append((mid, branch_id, committee_id, role))
            joined = today - timedelta(days=rng.randint(200, 12000))
            member_rows.append((mid, person_name(rng), f"139{mid:08d}", committee_id, branch_id, None, role, True,
                                joined, f"bench-{mid}", None, now, now))
    admins = []
    for committee_id in [ROOT] * 4 + [c + 2 for c in range(committees) for _ in range(5)]:
        mid += 1
        admins.append((mid, committee_id))
        member_rows.append((mid, person_name(rng), f"138{mid:08d}", committee_id, None, None, "admin", True,
                            None, f"bench-{mid}", None, now, now))
    load.copy("members", ["id", "name", "phone", "committee_id", "branch_id", "group_id", "role", "active",
                          "joined_on", "openid", "unionid", "created_at", "updated_at"], member_rows)
    return branch_rows, members, admins


def load_sessions(load, now, signer, people):
    """An auth session for each person (id, branch_id, committee_id, role); return their signed tokens by member id
    (members.auth.token_claims: version 0, as every member's is in a new data set; no epoch yet, see sign_for_epoch)."""
    expires = now + timedelta(days=7)
    tokens = {}
    session_rows = []
    for member_id, branch_id, committee_id, role in people:
        sid = secrets.token_hex(16)
        tokens[member_id] = signer.dumps(token_claims(sid, member_id, 0, role, branch_id, committee_id, expires, None))
        session_rows.append((sid, member_id, now, expires, None, "bench"))
    load.copy("auth_sessions", ["id", "member_id", "created_at", "expires_at", "revoked_at", "kind"], session_rows)
    return tokens


def load_question_bank(load, now, author):
    """The committee's question bank; return each question's right answer by id."""
    question_rows = []
    answers = {}
    for q in range(QUESTIONS):
        qid = q + 1
        topic = TOPICS[q % len(TOPICS)]
        stem = f"关于“{topic}”，下列说法正确的是（第{qid}题）"
        options = [{"key": k, "text": f"{topic}的要点{k}{'（正确表述）' if i == q % 4 else ''}"}
                   for i, k in enumerate("ABCD")]
        answers[qid] = "ABCD"[q % 4]
        question_rows.append((qid, ROOT, None, "single", stem, hashlib.sha1(stem.encode()).hexdigest(),
                              json.dumps(options, ensure_ascii=False), json.dumps(answers[qid]), "依据党章和相关文件。",
                              f",{topic},", 1 + q % 3, "集团题库", "active", None, author, now, now, None))
    load.copy("quiz_questions", ["id", "committee_id", "branch_id", "kind", "stem", "stem_key", "options", "answer",
                                 "explanation", "tags", "difficulty", "source", "status", "replaced_by_id",
                                 "created_by_id", "created_at", "updated_at", "retired_at"], question_rows)
    return answers


def load_quizzes(load, rng, monday, author):
    """13 closed weekly quizzes and this week's, open (the last row); return the quiz rows and each quiz's
    question ids."""
    quiz_rows, item_rows, quiz_questions = [], [], {}
    for k in range(PAST_WEEKS, -1, -1):
        qz = PAST_WEEKS - k + 1
        week_monday = monday - timedelta(weeks=k)
        opens, closes = clock.week_bounds(week_monday)
        picked = rng.sample(range(1, QUESTIONS + 1), QUIZ_ITEMS)
        quiz_questions[qz] = picked
        week = clock.week_key(week_monday)
        quiz_rows.append((qz, ROOT, None, f"c:{ROOT}", week, f"每周一测（{week}）", opens, closes, 15, 1,
                          QUIZ_ITEMS * POINTS, QUIZ_ITEMS * POINTS * 6 // 10, True, None,
                          closes + timedelta(minutes=5) if k else None, author, opens))
        for pos, qid in enumerate(picked):
            item_rows.append((len(item_rows) + 1, qz, qid, pos + 1, POINTS))
    load.copy("quizzes", ["id", "committee_id", "branch_id", "scope_key", "week_key", "title", "opens_at",
                          "closes_at", "time_limit_minutes", "max_attempts", "total_score", "pass_score",
                          "reveal_answers", "assembly", "closed_at", "created_by_id", "created_at"], quiz_rows)
    load.copy("quiz_items", ["id", "quiz_id", "question_id", "position", "points"], item_rows)
    return quiz_rows, quiz_questions


def load_quiz_history(load, rng, closed_quizzes, quiz_questions, answers, members, diligence):
    """Attempts and results of the closed quizzes: the more diligent a member, the likelier and better."""
    results = []
    load.copy("quiz_attempts", ["id", "quiz_id", "member_id", "branch_id", "number", "status", '"order"', "answers",
                                "started_at", "deadline_at", "saved_at", "submitted_at", "late", "score",
                                "correct_count"],
              _attempts(rng, closed_quizzes, quiz_questions, answers, members, diligence, results))
    load.copy("quiz_results", ["id", "quiz_id", "member_id", "branch_id", "attempt_id", "score", "passed",
                               "attempts", "points_rule", "submitted_at"], results)


def _attempts(rng, closed_quizzes, quiz_questions, answers, members, diligence, results):
    """Yield attempt rows, appending each one's result row to `results` (streamed: over a million rows)."""
    attempt_id = 0
    for quiz in closed_quizzes:
        qz, opens = quiz[0], quiz[6]
        picked = quiz_questions[qz]
        order = json.dumps([{"q": q, "o": list("ABCD")} for q in picked])
        # A handful of answer sheets per quiz, reused: building 1.2M distinct JSON strings is wasted time.
        sheets = []
        for n_right in range(QUIZ_ITEMS + 1):
            sheet = {str(q): answers[q] if i < n_right else ("A" if answers[q] != "A" else "B")
                     for i, q in enumerate(picked)}
            sheets.append(json.dumps(sheet))
        for member_id, branch_id, _, _ in members:
            p = diligence[member_id]
            if rng.random() > min(0.98, p + 0.2):
                continue
            right = min(QUIZ_ITEMS, max(0, int(rng.gauss(5 + 5 * p, 1.6))))
            score = right * POINTS
            attempt_id += 1
            start = opens + timedelta(seconds=rng.randint(3600, 6 * 86400))
            submitted = start + timedelta(seconds=rng.randint(180, 840))
            yield (attempt_id, qz, member_id, branch_id, 1, "submitted", order, sheets[right], start,
                   start + timedelta(minutes=15), submitted, submitted, False, score, right)
            tier = ("quiz_full_marks" if score >= QUIZ_ITEMS * POINTS
                    else "quiz_passed" if score >= QUIZ_ITEMS * POINTS * 6 // 10 else "quiz_taken")
            results.append((attempt_id, qz, member_id, branch_id, attempt_id, score,
                            score >= QUIZ_ITEMS * POINTS * 6 // 10, 1, tier, submitted))


def load_learning(load, rng, now, today, branch_rows, members, diligence, author):
    """One item a day for the company over 30 days and their readings, today's item unread; return its id."""
    material_rows = _load_materials(load, today, branch_rows, author)
    load.copy("readings", ["id", "member_id", "material_id", "day", "opened_at", "finished_at", "seconds",
                           "completed_at", "completed_day"], _readings(rng, material_rows[:-1], members, diligence))
    return material_rows[-1][0]


def _load_materials(load, today, branch_rows, author):
    """The daily items, each for every branch; return their rows, today's last."""
    material_rows, audience_rows = [], []
    for d in range(READ_DAYS, -1, -1):
        day = today - timedelta(days=d)
        material_id = READ_DAYS - d + 1
        topic = TOPICS[material_id % len(TOPICS)]
        published = clock.day_bounds(day)[0] - timedelta(hours=2)
        material_rows.append((material_id, f"{topic}：{day.month}月{day.day}日学习材料", "集团党委宣传部", None,
                              f"围绕{topic}的每日学习。", f"<p>{topic}。请认真学习并结合本职工作思考。</p>",
                              "article", 5, f",{topic},", day, "committee", ROOT, None, author, "published",
                              published, None, None, published, published))
        audience_rows.extend((material_id, b[0]) for b in branch_rows)
    load.copy("materials", ["id", "title", "source", "url", "summary", "body", "kind", "estimated_minutes",
                            "tags_text", "day", "audience", "committee_id", "branch_id", "author_id", "status",
                            "published_at", "withdrawn_at", "withdrawn_reason", "created_at", "updated_at"],
              material_rows)
    load.copy("material_audience", ["material_id", "branch_id"], audience_rows)
    return material_rows


def _readings(rng, material_rows, members, diligence):
    """Yield the reading rows of the past materials, each member reading with their diligence's chance."""
    reading_id = 0
    for material in material_rows:
        material_id, day = material[0], material[9]
        start_of_day = clock.day_bounds(day)[0]
        for member_id, _, _, _ in members:
            if rng.random() > diligence[member_id]:
                continue
            reading_id += 1
            opened = start_of_day + timedelta(seconds=rng.randint(7 * 3600, 22 * 3600))
            seconds = rng.randint(150, 600)
            finished = opened + timedelta(seconds=seconds)
            yield (reading_id, member_id, material_id, day, opened, finished, seconds, finished,
                   clock.local_day_of(finished))


def load_quotas(load, rng, now, today, branch_rows, members, author):
    """This year's 1+4+1: the policy, six held exchanges a branch with a speaker and attendance, book reports."""
    year = today.year
    load.copy("quota_policies", ["id", "committee_id", "year", "talks", "attends", "books", "updated_by_id",
                                 "updated_at"], [(1, ROOT, year, 1, 4, 1, author, now)])
    year_start = clock.year_bounds(year)[0]
    _load_exchanges(load, rng, now, year, year_start, branch_rows, members)
    load.copy("quota_book_reports", ["id", "member_id", "year", "title", "author", "isbn", "book_key",
                                     "finished_on", "reflection", "status", "reject_reason", "revisions",
                                     "submitted_at", "reviewed_by_id", "reviewed_at"],
              _book_reports(rng, today, year, year_start, members))


def _load_exchanges(load, rng, now, year, year_start, branch_rows, members):
    """Six approved exchanges a branch this year, each with a speaker and 8–16 attendances."""
    by_branch = {}
    for member_id, branch_id, _, _ in members:
        by_branch.setdefault(branch_id, []).append(member_id)
    exchange_rows, speaker_rows, attendance_rows = [], [], []
    span = max(1, int((now - year_start).total_seconds()) - 86400)
    for branch_id, committee_id, _, _ in branch_rows:
        people = by_branch[branch_id]
        for n in range(6):
            eid = len(exchange_rows) + 1
            starts = year_start + timedelta(seconds=rng.randint(0, span))
            topic = TOPICS[(eid + n) % len(TOPICS)]
            ends = starts + timedelta(hours=2)
            # Settled once held, as the scheduler's quota_settle does within minutes: a production database has no
            # year of held exchanges waiting to be paid. (The generated data carries no points ledger.)
            exchange_rows.append((eid, committee_id, branch_id, year, f"专业技术交流：{topic}", starts,
                                  ends, "党员活动室", None, f"交流{topic}的实践体会。", None,
                                  False, "approved", None, None, people[0], people[0], starts,
                                  secrets.token_hex(8), starts, starts, ends if ends <= now else None))
            speaker_rows.append((eid, eid, people[(n * 3 + 1) % len(people)]))
            for member_id in rng.sample(people, min(len(people), rng.randint(8, 16))):
                attendance_rows.append((len(attendance_rows) + 1, eid, member_id,
                                        rng.choice(("checkin", "checkin", "secretary")), None,
                                        starts + timedelta(minutes=rng.randint(0, 30))))
    load.copy("quota_exchanges", ["id", "committee_id", "branch_id", "year", "title", "starts_at", "ends_at",
                                  "place", "online_url", "summary", "guest_speakers", "shared", "status",
                                  "reject_reason", "proposed_by_id", "created_by_id", "reviewed_by_id",
                                  "reviewed_at", "checkin_salt", "created_at", "updated_at", "settled_at"],
              exchange_rows)
    load.copy("quota_exchange_speakers", ["id", "exchange_id", "member_id"], speaker_rows)
    load.copy("quota_attendances", ["id", "exchange_id", "member_id", "via", "recorded_by_id", "recorded_at"],
              attendance_rows)


def _book_reports(rng, today, year, year_start, members):
    """Yield an approved book report for about 60% of the members."""
    report_id = 0
    for member_id, _, _, _ in members:
        if rng.random() > 0.6:
            continue
        title, writer = rng.choice(BOOKS)
        report_id += 1
        finished = year_start.date() + timedelta(days=rng.randint(0, max(0, (today - year_start.date()).days - 1)))
        submitted = clock.day_bounds(finished)[0] + timedelta(hours=20)
        yield (report_id, member_id, year, title, writer, None, book_key(title, writer, None), finished,
               f"读《{title}》有感：理论联系实际，在本职岗位上践行初心使命。", "approved", None, 0, submitted,
               None, submitted + timedelta(days=1))


def finish_database(conn, url):
    """Move the sequences past the loaded ids, commit, build the rollups and analyse; return the seconds the
    rollups and the analysis took."""
    with conn.cursor() as cur:
        cur.execute("""SELECT c.table_name, c.column_name FROM information_schema.columns c
                       WHERE c.table_schema = 'public' AND c.column_default LIKE 'nextval%'""")
        for table, column in cur.fetchall():
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                        f"GREATEST((SELECT MAX({column}) FROM {table}), 1))")
    conn.commit()
    # The dashboards' rollups are kept by the app on every write; a COPY bypasses it, so build them once.
    rollups_started = time.perf_counter()
    rebuild_rollups(url)
    rollups_seconds = time.perf_counter() - rollups_started
    analyze_started = time.perf_counter()
    conn.autocommit = True
    conn.execute("VACUUM ANALYZE")
    # The load's pages are written out now, not by a checkpoint in the middle of the write scenarios (one there made
    # the writes' p99 several times longer in #19's pair runs). Needs superuser or pg_checkpoint; else as before.
    try:
        conn.execute("CHECKPOINT")
    except psycopg.errors.InsufficientPrivilege:
        pass
    return rollups_seconds, time.perf_counter() - analyze_started


def write_token_files(out_dir, rng, members, admins, tokens):
    """The TSV files the wrk scripts read: members and secretaries in a shuffled order, admins, root admins."""
    order = list(members)
    rng.shuffle(order)
    with open(os.path.join(out_dir, "members.tsv"), "w") as f:
        for member_id, branch_id, _, _ in order:
            f.write(f"{tokens[member_id]}\t{member_id}\t{branch_id}\n")
    with open(os.path.join(out_dir, "secretaries.tsv"), "w") as f:
        for member_id, branch_id, _, role in order:
            if role == "secretary":
                f.write(f"{tokens[member_id]}\t{branch_id}\n")
    with open(os.path.join(out_dir, "admins.tsv"), "w") as f:
        for member_id, committee_id in admins:
            if committee_id != ROOT:
                f.write(f"{tokens[member_id]}\t{committee_id}\n")
    with open(os.path.join(out_dir, "root_admins.tsv"), "w") as f:
        for member_id, committee_id in admins:
            if committee_id == ROOT:
                f.write(f"{tokens[member_id]}\t{committee_id}\n")


TOKEN_FILES = ("members.tsv", "secretaries.tsv", "admins.tsv", "root_admins.tsv")


def sign_for_epoch(out_dir, secret_key, epoch):
    """Give every token in the token files the auth mirror's epoch, as a login while the mirror stands would
    (members.authlog): the run's relay starts after the load, with an epoch of its own."""
    signer = URLSafeSerializer(secret_key, salt=SALT)
    for name in TOKEN_FILES:
        path = os.path.join(out_dir, name)
        lines = [line.rstrip("\n").split("\t") for line in open(path)]
        with open(path, "w") as f:
            for token, *rest in lines:
                f.write("\t".join([signer.dumps({**signer.loads(token), "e": epoch}), *rest]) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--out", required=True)
    parser.add_argument("--committees", type=int, default=20)
    parser.add_argument("--branches-per-committee", type=int, default=250)
    parser.add_argument("--members-per-branch", type=int, default=20)
    args = parser.parse_args()
    summary = generate(args.database_url, args.out, os.environ["SECRET_KEY"], args.committees,
                       args.branches_per_committee, args.members_per_branch)
    print(json.dumps(summary, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
