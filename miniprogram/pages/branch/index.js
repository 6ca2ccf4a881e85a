// 支部工作台 (secretary, admin): the branch's completion today and this week — reading, the quiz, 1+4+1 — who
// is behind, and 一键提醒 after a confirmation that names exactly who will be reminded. Admins pick a branch of
// their subtree. What only the desk console does is listed with its address.
const api = require('../../utils/api');
const branch = require('../../utils/branch');
const config = require('../../config');
const format = require('../../utils/format');
const loader = require('../../utils/loader');

const KINDS = ['reading', 'quiz', 'quota'];

Component({
  data: {
    loading: true,
    error: '',
    admin: false,
    branches: [],
    branchIndex: 0,
    branchName: '',
    today: null,
    week: null,
    quiz: null,
    quota: null,
    behind: [],
    pendingCount: 0,
    deskJobs: [],
  },
  methods: {
    async onLoad(query) {
      try {
        const me = await api.get('/me');
        const admin = me.role === 'admin';
        let branches = me.branch ? [me.branch] : [];
        if (admin) branches = await api.get(`/committees/${me.committee.id}/branches`);
        if (!branches.length) throw new api.ApiError(404, 'no_branch', '您管理的党委下还没有支部');
        const wanted = Number((query && query.branch_id) || 0);
        const branchIndex = Math.max(0, branches.findIndex((b) => b.id === wanted));
        this.setData({ admin, branches: branches.map((b) => ({ id: b.id, name: b.name })), branchIndex });
        await this.load();
      } catch (err) {
        this.setData({ loading: false, error: err.message });
      }
    },
    onShow() {
      // Back from approvals or a reminder: the figures and the queue may have moved.
      if (this.data.branches.length && !this.data.loading) this.load();
    },
    onPullDownRefresh() {
      this.load().then(() => wx.stopPullDownRefresh());
    },
    pickBranch(e) {
      this.setData({ branchIndex: Number(e.detail.value) });
      this.load();
    },
    branchId() {
      return this.data.branches[this.data.branchIndex].id;
    },
    async load() {
      const id = this.branchId();
      return loader.load(this, async () => {
        const [today, week, board, books, proposals, ...previews] = await Promise.all([
          api.get(`/branches/${id}/reading`, { day: branch.beijingToday() }),
          api.get(`/branches/${id}/reading`),
          api.get(`/branches/${id}/quota-board`),
          api.get(`/branches/${id}/books`, { status: 'pending', per_page: 1 }),
          api.get('/exchanges', { status: 'pending', branch_id: id, per_page: 1 }),
          ...KINDS.map((kind) => api.get(`/branches/${id}/reminders`, { kind }).then(branch.splitAudience)),
        ]);
        return {
          branchName: this.data.branches[this.data.branchIndex].name,
          today: { rate: branch.rate(today.summary.rate), done: branch.ratio(today.summary.completed, today.summary.expected),
            studied: today.summary.studied_members, members: today.summary.members },
          week: { rate: branch.rate(week.summary.rate), idle: week.idle_this_week.length, key: week.week_key,
            range: `${format.monthDay(week.start)}–${format.monthDay(week.end)}` },
          quota: { rate: format.percent(board.completion_rate), done: branch.ratio(board.complete_count, board.member_count) },
          quiz: await this.quizFigures(id, week.week_key),
          behind: KINDS.map((kind, i) => ({ kind, label: branch.REMINDER_KINDS[kind].what,
            names: branch.names(previews[i].members), count: previews[i].members.length,
            already: previews[i].already_reminded.length })),
          pendingCount: books.total + proposals.total,
          deskJobs: branch.deskJobs(config.BASE_URL, id),
        };
      });
    },
    async quizFigures(branchId, weekKey) {
      const quizzes = await api.get('/quizzes', { week_key: weekKey, per_page: 50 });
      const quiz = branch.branchQuiz(quizzes.items, branchId, weekKey);
      if (!quiz) return null;
      const stats = await api.get(`/quizzes/${quiz.id}/stats`, { branch_id: branchId });
      const f = stats.branches.find((b) => b.branch_id === branchId) || stats.overall;
      return { title: quiz.title, participation: format.percent(f.participation_rate),
        submitted: branch.ratio(f.submitted, f.audience),
        average: f.average_score === null ? '—' : `${Number(f.average_score).toFixed(1)} 分`,
        pass: format.percent(f.pass_rate) };
    },
    async remind(e) {
      const kind = e.currentTarget.dataset.kind;
      try {
        // Ask again just before confirming: the names shown are the names the tap reminds.
        const preview = branch.splitAudience(await api.get(`/branches/${this.branchId()}/reminders`, { kind }));
        const confirmation = branch.reminderConfirmation(kind, preview);
        if (!confirmation) {
          wx.showToast({ title: '没有需要提醒的党员', icon: 'none' });
          return;
        }
        const answer = await wx.showModal({ ...confirmation, confirmText: '提醒', confirmColor: '#C8161D' });
        if (!answer.confirm) return;
        const result = await api.post(`/branches/${this.branchId()}/reminders`, { kind });
        wx.showToast({ title: `已提醒 ${result.reminded} 人`, icon: 'success' });
        await this.load();
      } catch (err) {
        api.showError(err);
      }
    },
    go(e) {
      wx.navigateTo({ url: `${e.currentTarget.dataset.url}?branch_id=${this.branchId()}` });
    },
    copy(e) {
      wx.setClipboardData({ data: e.currentTarget.dataset.url });
    },
  },
});
