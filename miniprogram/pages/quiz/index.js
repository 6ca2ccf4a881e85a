// 测验 (tab): this week's quiz and where the member stands — start, resume, see the result — and past quizzes.
// A push opens it with ?id=N: that quiz as the member stands in it (GET /me/quizzes/N); when the server refuses it
// (not theirs: 404, not in its audience: 403) its Chinese message is shown above this week's quiz.
const api = require('../../utils/api');
const format = require('../../utils/format');
const loader = require('../../utils/loader');

const STATE_LABELS = {
  none: '本周暂无测验',
  upcoming: '未开始',
  not_started: '进行中 · 未作答',
  in_progress: '作答中',
  submitted: '已提交',
  closed: '已结束',
};

function present(current) {
  const quiz = current.quiz;
  return {
    state: current.state,
    stateLabel: STATE_LABELS[current.state] || '',
    quiz: quiz && {
      id: quiz.id,
      title: quiz.title,
      facts: `${quiz.question_count} 题 · 限时 ${quiz.time_limit_minutes} 分钟 · 满分 ${quiz.total_score} · ${quiz.pass_score} 分及格`,
      opens: format.shortDateTime(quiz.opens_at),
      closes: format.shortDateTime(quiz.closes_at),
      reveal: quiz.reveal_answers,
    },
    attemptsLeft: current.attempts_left,
    timeLeft: current.attempt ? format.countdown(current.attempt.seconds_left) : '',
    result: current.result && {
      score: current.result.score,
      passed: current.result.passed,
      submitted: format.shortDateTime(current.result.submitted_at),
    },
  };
}

Component({
  data: { loading: true, error: '', notice: '', quizId: 0, view: null },
  methods: {
    onLoad(query) {
      this.setData({ quizId: Number((query && query.id) || 0) });
    },

    ...loader.reloading,

    load() {
      return loader.load(this, async () => {
        let current = null;
        let notice = '';
        if (this.data.quizId) {
          try {
            current = await api.get(`/me/quizzes/${this.data.quizId}`);
          } catch (err) {
            if (err.status !== 403 && err.status !== 404) throw err;
            notice = err.message;
            this.setData({ quizId: 0 }); // the server said no: from now on this is the week's tab
          }
        }
        if (!current) current = await api.get('/quizzes/current');
        return { notice, view: present(current) };
      });
    },

    take() {
      wx.navigateTo({ url: `/pages/quiz/take?quiz_id=${this.data.view.quiz.id}` });
    },

    showResult() {
      wx.navigateTo({ url: `/pages/quiz/result?id=${this.data.view.quiz.id}` });
    },

    openHistory() {
      wx.navigateTo({ url: '/pages/quiz/history' });
    },
  },
});
