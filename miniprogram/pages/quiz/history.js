// 往期测验: every quiz the member took, with score and whether answers can be reviewed.
const api = require('../../utils/api');
const format = require('../../utils/format');
const loader = require('../../utils/loader');

function present(entry) {
  return {
    quizId: entry.quiz.id,
    attemptId: entry.attempt_id,
    title: entry.quiz.title,
    closes: format.shortDateTime(entry.quiz.closes_at),
    score: entry.result ? entry.result.score : null,
    total: entry.quiz.total_score,
    passed: entry.result ? entry.result.passed : false,
    review: entry.answers_revealed,
  };
}

Component({
  data: { loading: true, error: '', items: [], page: 1, more: false },
  methods: {
    onLoad() {
      this.load(1);
    },

    load(page) {
      return loader.load(this, async () => {
        const res = await api.get('/me/quizzes', { page, per_page: 20 });
        const items = (page === 1 ? [] : this.data.items).concat(res.items.map(present));
        return { items, page, more: items.length < res.total };
      });
    },

    onReachBottom() {
      if (this.data.more) this.load(this.data.page + 1);
    },

    open(e) {
      wx.navigateTo({ url: `/pages/quiz/result?attempt_id=${e.currentTarget.dataset.attempt}` });
    },
  },
});
