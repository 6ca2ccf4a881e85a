"""What goes in and out of the quiz room. Field sets per audience: a member never gets answers before close."""
from datetime import datetime

from marshmallow import Schema, ValidationError, fields, post_dump, validate, validates_schema

from core.schemas import PageArgs, StrictSchema, page_schema
from quizzes.models import DIFFICULTIES, QUESTION_TYPES, TYPE_LABELS

# --- question bank (secretaries and admins) --------------------------------------------------------

class OptionSchema(Schema):
    key = fields.String()
    text = fields.String()


ANSWER_FIELDS = ("answer", "answer_text", "explanation")


class QuestionSchema(Schema):
    """A bank question with its answer, unless the caller may still take a quiz that asks it (quizzes.audience).

    The answer fields are dumped only for a question marked readable by `audience.show_answers`; an unmarked one
    shows none, so a path that forgot to ask leaks nothing.
    """

    id = fields.Integer()
    kind = fields.String(metadata={"enum": list(QUESTION_TYPES)})
    kind_label = fields.Function(lambda q: TYPE_LABELS[q.kind])
    stem = fields.String()
    options = fields.List(fields.Nested(OptionSchema))
    answer = fields.Raw(metadata={"description": "单选 'A'；多选 ['A','C']；判断 'T'/'F'；填空 [[可接受答案...], ...]"})
    answer_text = fields.Function(lambda q: __import__("quizzes.bank", fromlist=["answer_text"]).answer_text(q))
    explanation = fields.String()
    tags = fields.Function(lambda q: q.tag_list)
    difficulty = fields.Integer()
    difficulty_label = fields.Function(lambda q: DIFFICULTIES.get(q.difficulty))
    source = fields.String()
    status = fields.String()
    committee_id = fields.Integer()
    branch_id = fields.Integer(allow_none=True)
    replaced_by_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    answers_withheld = fields.Function(
        lambda q: getattr(q, "answers_withheld", True),
        metadata={"description": "true：你可能参加含此题、尚未结束的测验，答案与解析暂不显示（为 null）"})

    @post_dump(pass_original=True)
    def _withhold(self, data, question, **_):
        if getattr(question, "answers_withheld", True):
            data.update(dict.fromkeys(ANSWER_FIELDS))
        return data


QuestionPageSchema = page_schema(QuestionSchema, "QuestionPage")


class QuestionListArgs(PageArgs):
    kind = fields.String(validate=validate.OneOf(QUESTION_TYPES))
    tag = fields.String(validate=validate.Length(max=20))
    difficulty = fields.Integer(validate=validate.Range(1, 3))
    status = fields.String(load_default="active", validate=validate.OneOf(("active", "retired")))
    q = fields.String(validate=validate.Length(max=50), metadata={"description": "按题干搜索"})
    branch_id = fields.Integer(metadata={"description": "只看某支部自有的题目"})


class QuestionBodyFields(StrictSchema):
    kind = fields.String(validate=validate.OneOf(QUESTION_TYPES))
    stem = fields.String(validate=validate.Length(min=1, max=1000))
    options = fields.List(fields.String(validate=validate.Length(max=300)), validate=validate.Length(max=6),
                          metadata={"description": "选择题的选项文字，依次为 A、B、C…"})
    answer = fields.String(validate=validate.Length(min=1, max=2000),
                           metadata={"description": "同导入模板：单选 A；多选 ACD"
                           "；判断 正确/错误；填空 各空 ; 分隔，可接受答案 | 分隔"})
    explanation = fields.String(validate=validate.Length(max=2000))
    tags = fields.List(fields.String(validate=validate.Length(min=1, max=20)), validate=validate.Length(max=10))
    difficulty = fields.Integer(validate=validate.Range(1, 3))
    source = fields.String(validate=validate.Length(max=200))


class QuestionCreateSchema(QuestionBodyFields):
    kind = fields.String(required=True, validate=validate.OneOf(QUESTION_TYPES))
    stem = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    answer = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    committee_id = fields.Integer(metadata={"description": "党委题库（管理员）；缺省为本人所在党委或支部"})
    branch_id = fields.Integer(metadata={"description": "支部自有题库"})


class QuestionUpdateSchema(QuestionBodyFields):
    pass


class UploadSchema(Schema):
    file = fields.Raw(metadata={"type": "string", "format": "binary"}, required=True)


class ImportResultSchema(Schema):
    created = fields.Integer()
    by_kind = fields.Dict(keys=fields.String(), values=fields.Integer())


# --- quizzes (secretaries and admins) -------------------------------------------------------------

class RuleSchema(StrictSchema):
    kind = fields.String(validate=validate.OneOf(QUESTION_TYPES))
    tag = fields.String(validate=validate.Length(min=1, max=20))
    difficulty = fields.Integer(validate=validate.Range(1, 3))
    count = fields.Integer(required=True, validate=validate.Range(1, 50))


class QuizFields(StrictSchema):
    week_key = fields.String(metadata={"description": "ISO 周，如 2026-W48；缺省为本周"})
    title = fields.String(validate=validate.Length(min=1, max=200))
    question_ids = fields.List(fields.Integer(), validate=validate.Length(min=1, max=100))
    rules = fields.List(fields.Nested(RuleSchema), validate=validate.Length(min=1, max=20))
    avoid_weeks = fields.Integer(validate=validate.Range(0, 52), metadata={"description": "避开最近 K 周用过的题"})
    seed = fields.Integer()
    opens_at = fields.AwareDateTime()
    closes_at = fields.AwareDateTime()
    time_limit_minutes = fields.Integer(validate=validate.Range(1, 180))
    max_attempts = fields.Integer(validate=validate.Range(1, 10))
    points_per_question = fields.Integer(validate=validate.Range(1, 100))
    pass_percent = fields.Integer(validate=validate.Range(0, 100))
    reveal_answers = fields.Boolean(metadata={"description": "结束后是否向党员公布答案与解析"})



class QuizCreateSchema(QuizFields):
    @validates_schema
    def _one_way(self, data, **_):
        if bool(data.get("question_ids")) == bool(data.get("rules")):
            raise ValidationError("question_ids 与 rules 须且只能给出一个", "question_ids")


class QuizUpdateSchema(QuizFields):
    """The settings to change; absent fields stay. Once the quiz is open only title and closes_at may change."""

    @validates_schema
    def _at_most_one_way(self, data, **_):
        if data.get("question_ids") and data.get("rules"):
            raise ValidationError("question_ids 与 rules 最多给出一个", "question_ids")


class QuizSchema(Schema):
    """A quiz's settings, safe for anyone in its audience."""

    id = fields.Integer()
    title = fields.String()
    week_key = fields.String()
    committee_id = fields.Integer()
    branch_id = fields.Integer(allow_none=True)
    opens_at = fields.DateTime()
    closes_at = fields.DateTime()
    time_limit_minutes = fields.Integer()
    max_attempts = fields.Integer()
    total_score = fields.Integer()
    pass_score = fields.Integer()
    reveal_answers = fields.Boolean()
    question_count = fields.Function(lambda q: len(q.items))
    phase = fields.Function(lambda q: q.phase())


class QuizItemSchema(Schema):
    position = fields.Integer()
    points = fields.Integer()
    question = fields.Nested(QuestionSchema)


class QuizDetailSchema(QuizSchema):
    """A quiz with its questions and answers: for its secretaries and admins only."""

    items = fields.List(fields.Nested(QuizItemSchema))
    assembly = fields.Raw(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)


QuizPageSchema = page_schema(QuizSchema, "QuizPage")


class QuizListArgs(PageArgs):
    week_key = fields.String(validate=validate.Regexp(r"^\d{4}-W\d{2}$"))


class StatsArgs(StrictSchema):
    branch_id = fields.Integer()


class PendingArgs(PageArgs):
    branch_id = fields.Integer()


class FigureSchema(Schema):
    branch_id = fields.Integer()
    branch_name = fields.String()
    audience = fields.Integer()
    submitted = fields.Integer()
    not_submitted = fields.Integer()
    participation_rate = fields.Float(allow_none=True)
    average_score = fields.Float(allow_none=True)
    median_score = fields.Float(allow_none=True)
    pass_rate = fields.Float(allow_none=True)
    total_score = fields.Integer()


class QuizStatsSchema(Schema):
    quiz = fields.Nested(QuizSchema)
    overall = fields.Nested(FigureSchema)
    branches = fields.List(fields.Nested(FigureSchema))


class PendingMemberSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    branch_id = fields.Integer()


PendingPageSchema = page_schema(PendingMemberSchema, "PendingMemberPage")


class ItemOptionSchema(Schema):
    key = fields.String()
    text = fields.String()
    chosen = fields.Integer()
    chosen_by_upper = fields.Integer()
    is_key = fields.Boolean()


class ItemSchema(Schema):
    position = fields.Integer()
    question_id = fields.Integer()
    kind = fields.String()
    stem = fields.String()
    answered = fields.Integer()
    facility = fields.Float(allow_none=True, metadata={"description": "难度系数：答对比例"})
    discrimination = fields.Float(allow_none=True, metadata={"description": "区分度：高分组与低分组(各27%)答对率之差"})
    options = fields.List(fields.Nested(ItemOptionSchema))
    unanswered = fields.Integer()
    dubious = fields.Boolean()
    reasons = fields.List(fields.String())


class ItemAnalysisSchema(Schema):
    quiz_id = fields.Integer()
    takers = fields.Integer()
    group_size = fields.Integer()
    items = fields.List(fields.Nested(ItemSchema))


# --- members: the phone's view ---------------------------------------------------------------------

class MemberQuestionSchema(Schema):
    """A question as a member sees it while the quiz is open: never the answer or the explanation."""

    id = fields.Integer()
    kind = fields.String()
    kind_label = fields.String()
    stem = fields.String()
    options = fields.List(fields.Nested(OptionSchema))
    blanks = fields.Integer(allow_none=True)
    points = fields.Integer()


class RevealedQuestionSchema(MemberQuestionSchema):
    """Once the results are final (if the quiz reveals them): the answer, the explanation, whether the member got it."""

    answer = fields.Raw(metadata={"description": "仅在测验结束且公布答案后出现"})
    answer_text = fields.String(metadata={"description": "仅在测验结束且公布答案后出现"})
    explanation = fields.String(metadata={"description": "仅在测验结束且公布答案后出现"})
    correct = fields.Boolean(allow_none=True, metadata={"description": "仅在测验结束且公布答案后出现"})


class AttemptResultSchema(Schema):
    score = fields.Integer()
    total_score = fields.Integer()
    passed = fields.Boolean()
    correct_count = fields.Integer()
    question_count = fields.Integer()
    late = fields.Boolean()
    submitted_at = fields.DateTime()


class AttemptSchema(Schema):
    id = fields.Integer()
    quiz_id = fields.Integer()
    number = fields.Integer()
    status = fields.String()
    started_at = fields.DateTime()
    deadline_at = fields.DateTime()
    seconds_left = fields.Integer()
    saved_at = fields.DateTime(allow_none=True)
    answers = fields.Dict(keys=fields.String(), values=fields.Raw())
    questions = fields.List(fields.Nested(MemberQuestionSchema))
    result = fields.Nested(AttemptResultSchema, allow_none=True)
    answers_revealed = fields.Boolean()


class RevealedAttemptSchema(AttemptSchema):
    questions = fields.List(fields.Nested(RevealedQuestionSchema))


class AnswersSchema(StrictSchema):
    answers = fields.Dict(keys=fields.String(validate=validate.Regexp(r"^\d{1,12}$")),
        values=fields.Raw(allow_none=True),
                          required=True, validate=validate.Length(max=100),
                          metadata={"description": "题目 id → 答案：单选/判断 'A'/'T'；多选 ['A','C']"
                          "；填空 ['答案1','答案2']；null 清除"})


class SubmitSchema(StrictSchema):
    answers = fields.Dict(keys=fields.String(validate=validate.Regexp(r"^\d{1,12}$")),
        values=fields.Raw(allow_none=True),
                          validate=validate.Length(max=100))


class SavedSchema(Schema):
    id = fields.Integer()
    saved_at = fields.DateTime()
    deadline_at = fields.DateTime()
    seconds_left = fields.Integer()
    answered = fields.Integer()


class MyResultSchema(Schema):
    score = fields.Integer()
    passed = fields.Boolean()
    attempts = fields.Integer()
    submitted_at = fields.DateTime()


class CurrentAttemptSchema(Schema):
    id = fields.Integer()
    deadline_at = fields.DateTime()
    seconds_left = fields.Integer()


class CurrentSchema(Schema):
    week_key = fields.String()
    quiz = fields.Nested(QuizSchema, allow_none=True)
    phase = fields.String(allow_none=True)
    state = fields.String(metadata={"enum": ["none", "upcoming", "not_started", "in_progress", "submitted", "closed"]})
    attempts_used = fields.Integer()
    attempts_left = fields.Integer()
    attempt = fields.Nested(CurrentAttemptSchema, allow_none=True)
    result = fields.Nested(MyResultSchema, allow_none=True)


class MyQuizSchema(Schema):
    quiz = fields.Nested(QuizSchema)
    result = fields.Nested(MyResultSchema)
    attempt_id = fields.Integer()
    answers_revealed = fields.Boolean()


MyQuizPageSchema = page_schema(MyQuizSchema, "MyQuizPage")


# --- the attempt, dumped without marshmallow's per-field machinery ------------------------------------

class AttemptDump:
    """`schema.dump(view)` for an attempt view (quizzes.services.review.attempt_view), a start's and a submit's
    response, at a fraction of the CPU (marshmallow's 50 nested dumps were a fifth of a start's). The same output:
    of each part, the keys its schema declares and the view has, datetimes in ISO 8601 as DateTime dumps them — so a
    field the schema leaves out (the answers, in AttemptSchema) never goes out. Tests hold it equal to the schema's
    own dump, revealed and hidden."""

    def __init__(self, schema):
        questions = schema.fields["questions"].inner.schema
        self.top = [n for n in schema.fields if n not in ("questions", "result")]
        self.question = [n for n in questions.fields if n != "options"]
        self.option = list(questions.fields["options"].inner.schema.fields)
        self.result = list(schema.fields["result"].schema.fields)

    def dump(self, view):
        out = _picked(view, self.top)
        if "questions" in view:
            out["questions"] = [dict(_picked(q, self.question), options=[_picked(o, self.option) for o in q["options"]])
                                for q in view["questions"]]
        if "result" in view:
            out["result"] = None if view["result"] is None else _picked(view["result"], self.result)
        return out


def _picked(data, names):
    return {name: _dumped(data[name]) for name in names if name in data}


def _dumped(value):
    return value.isoformat() if isinstance(value, datetime) else value
