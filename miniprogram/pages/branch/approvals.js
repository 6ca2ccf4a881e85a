// 审核 (secretary, admin): the branch's book reports and exchange proposals waiting for approval; approve with a
// tap, or send back with a reason the member will read.
const api = require('../../utils/api');
const format = require('../../utils/format');

function bookRow(b) {
  return { key: `book-${b.id}`, type: 'book', id: b.id, title: `《${b.title}》`, who: b.member.name,
    meta: `${b.author} · ${format.monthDay(b.finished_on)}读完${b.revisions ? ` · 第 ${b.revisions + 1} 次提交` : ''}`,
    text: b.reflection };
}

function exchangeRow(e) {
  return { key: `exchange-${e.id}`, type: 'exchange', id: e.id, title: e.title,
    who: e.speakers.map((s) => s.name).join('、') || e.guest_speakers || '',
    meta: `${format.shortDateTime(e.starts_at)} · ${e.place || '线上'}`, text: e.summary };
}

Component({
  data: { loading: true, error: '', branchId: 0, items: [], rejecting: '', reason: '', busy: false },
  methods: {
    async onLoad(query) {
      try {
        let branchId = Number((query && query.branch_id) || 0);
        if (!branchId) {
          const me = await api.get('/me');
          branchId = me.branch ? me.branch.id : 0;
        }
        if (!branchId) throw new api.ApiError(404, 'no_branch', '请从支部工作台选择支部后再审核');
        this.setData({ branchId });
        await this.load();
      } catch (err) {
        this.setData({ loading: false, error: err.message });
      }
    },
    async load() {
      const [books, exchanges] = await Promise.all([
        api.get(`/branches/${this.data.branchId}/books`, { status: 'pending', per_page: 50 }),
        api.get('/exchanges', { status: 'pending', branch_id: this.data.branchId, per_page: 50 }),
      ]);
      this.setData({ loading: false, error: '', rejecting: '', reason: '',
        items: books.items.map(bookRow).concat(exchanges.items.map(exchangeRow)) });
    },
    path(item) {
      return item.type === 'book' ? `/books/${item.id}/review` : `/exchanges/${item.id}/review`;
    },
    item(e) {
      return this.data.items.find((i) => i.key === e.currentTarget.dataset.key);
    },
    async approve(e) {
      await this.review(this.item(e), { approve: true }, '已通过');
    },
    startReject(e) {
      this.setData({ rejecting: e.currentTarget.dataset.key, reason: '' });
    },
    onReason(e) {
      this.setData({ reason: e.detail.value });
    },
    async reject(e) {
      const reason = this.data.reason.trim();
      if (reason.length < 2) {
        wx.showToast({ title: '请写明退回原因，党员会看到', icon: 'none' });
        return;
      }
      await this.review(this.item(e), { approve: false, reason }, '已退回');
    },
    async review(item, body, done) {
      if (this.data.busy) return;
      this.setData({ busy: true });
      try {
        await api.post(this.path(item), body);
        wx.showToast({ title: done, icon: 'success' });
        await this.load();
      } catch (err) {
        api.showError(err);
      } finally {
        this.setData({ busy: false });
      }
    },
  },
});
