// 测验结果: the score of an attempt; after the quiz closes, the review with each answer and explanation when the
// quiz reveals them. Opened after a submit (attempt_id) or from a push (id = the quiz).
const api = require('../../utils/api');
const format = require('../../utils/format');
const subscribe = require('../../utils/subscribe');

/** The shown letters (A, B, C… in the order the member saw) of stored option keys. */
function lettersOf(question, keys) {
  const list = (Array.isArray(keys) ? keys : [keys]).filter((k) => k !== null && k !== undefined);
  const letters = question.options
    .map((o, i) => (list.includes(o.key) ? format.optionLetter(i) : null))
    .filter(Boolean);
  return letters.join('、');
}

function answerText(question, value) {
  if (value === null || value === undefined || (Array.isArray(value) && !value.length)) return '未作答';
  if (question.kind === 'blank') return value.map((v) => v || '（空）').join('；');
  if (question.kind === 'judge') return value === 'T' ? '正确' : '错误';
  return lettersOf(question, value) || '未作答';
}

function correctText(question) {
  if (question.kind === 'blank' || question.kind === 'judge') return question.answer_text;
  return lettersOf(question, question.answer);
}

function presentReview(attempt) {
  return attempt.questions.map((q, i) => {
    const mine = attempt.answers[String(q.id)];
    const chosen = Array.isArray(mine) ? mine : [mine];
    const keys = Array.isArray(q.answer) ? q.answer : [q.answer];
    return {
      id: q.id,
      number: i + 1,
      kindLabel: q.kind_label,
      stem: q.stem,
      correct: q.correct,
      options: q.options.map((o, j) => ({
        letter: format.optionLetter(j), text: o.text, mine: chosen.includes(o.key), right: keys.includes(o.key),
      })),
      mine: answerText(q, mine),
      answer: correctText(q),
      explanation: q.explanation,
    };
  });
}

Component({
  data: { loading: true, error: '', view: null, review: [], consent: null },
  methods: {
    async onLoad(query) {
      try {
        const mine = await api.get('/me/quizzes', { per_page: 50 });
        let attemptId = Number(query.attempt_id || 0);
        if (!attemptId) {
          const entry = mine.items.find((e) => e.quiz.id === Number(query.id));
          if (!entry) {
            await this.showUnsubmitted(Number(query.id));
            return;
          }
          attemptId = entry.attempt_id;
        }
        const attempt = await api.get(`/attempts/${attemptId}`);
        const entry = mine.items.find((e) => e.quiz.id === attempt.quiz_id);
        this.show(attempt, entry && entry.quiz);
        if (query.submitted) this.offerResultNotice();
      } catch (err) {
        this.setData({ loading: false, error: err.message });
      }
    },

    /** A push may open the result of a quiz not yet submitted: offer to go on, or say it was missed. */
    async showUnsubmitted(quizId) {
      const current = await api.get('/quizzes/current');
      if (current.quiz && current.quiz.id === quizId && ['in_progress', 'not_started'].includes(current.state)) {
        this.setData({ loading: false, view: { title: current.quiz.title, inProgress: true, quizId, hidden: '' } });
      } else {
        this.setData({ loading: false, error: '您没有参加这次测验。' });
      }
    },

    resume() {
      wx.redirectTo({ url: `/pages/quiz/take?quiz_id=${this.data.view.quizId}` });
    },

    show(attempt, quiz) {
      const result = attempt.result;
      let hidden = '';
      if (!attempt.answers_revealed) {
        hidden = quiz && !quiz.reveal_answers ? '本次测验不公布答案与解析。'
          : `测验截止${quiz ? `（${format.shortDateTime(quiz.closes_at)}）` : ''}后可在此查看答案与解析。`;
      }
      this.setData({
        loading: false,
        view: {
          title: quiz ? quiz.title : '每周一测',
          inProgress: !result,
          quizId: attempt.quiz_id,
          score: result ? result.score : 0,
          total: result ? result.total_score : 0,
          passed: result ? result.passed : false,
          correct: result ? `答对 ${result.correct_count}/${result.question_count} 题` : '',
          submitted: result ? format.dateTime(result.submitted_at) : '',
          late: result ? result.late : false,
          hidden,
        },
        review: attempt.answers_revealed ? presentReview(attempt) : [],
      });
    },

    offerResultNotice() {
      return subscribe.offer(this, 'quiz_result');
    },

    askResultNotice() {
      return subscribe.answer(this, (card) => `已开启：${card.when}通知您。`, '未开启通知，可随时在“我的-通知设置”中查看。');
    },

    backToQuiz() {
      wx.switchTab({ url: '/pages/quiz/index' });
    },
  },
});
