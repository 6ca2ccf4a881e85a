// Record a book with its reflection (读书心得), or revise one that was sent back; the secretary approves it.
const api = require('../../utils/api');
const branch = require('../../utils/branch');
const quota = require('../../utils/quota');

const MIN_REFLECTION = 100;

Component({
  data: {
    id: 0,
    title: '',
    author: '',
    isbn: '',
    finishedOn: '',
    reflection: '',
    count: 0,
    min: MIN_REFLECTION,
    today: '',
    reason: '',
    locked: false,
    submitting: false,
  },
  methods: {
    onLoad(query) {
      const today = branch.beijingToday();
      this.setData({ today, finishedOn: today });
      if (query && query.id) this.loadReport(Number(query.id));
    },
    async loadReport(id) {
      try {
        const b = await api.get(`/books/${id}`);
        this.setData({ id, title: b.title, author: b.author, isbn: b.isbn || '', finishedOn: b.finished_on,
          reflection: b.reflection, count: quota.reflectionLength(b.reflection), reason: b.reject_reason || '',
          locked: b.status === 'approved' });
      } catch (err) {
        api.showError(err);
      }
    },
    onField(e) {
      const field = e.currentTarget.dataset.field;
      const patch = { [field]: e.detail.value };
      if (field === 'reflection') patch.count = quota.reflectionLength(e.detail.value);
      this.setData(patch);
    },
    async submit() {
      const d = this.data;
      if (this.data.submitting || d.locked) return;
      if (!d.title.trim() || !d.author.trim()) {
        wx.showToast({ title: '请填写书名和作者', icon: 'none' });
        return;
      }
      if (d.count < MIN_REFLECTION) {
        wx.showToast({ title: `读书心得至少 ${MIN_REFLECTION} 字，还差 ${MIN_REFLECTION - d.count} 字`, icon: 'none' });
        return;
      }
      const body = { title: d.title.trim(), author: d.author.trim(), isbn: d.isbn.trim() || null,
        finished_on: d.finishedOn, reflection: d.reflection };
      this.setData({ submitting: true });
      try {
        if (d.id) await api.put(`/books/${d.id}`, body);
        else await api.post('/me/books', body);
        wx.showToast({ title: '已提交，等待书记审核', icon: 'none' });
        wx.navigateBack();
      } catch (err) {
        api.showError(err);
      } finally {
        this.setData({ submitting: false });
      }
    },
  },
});
