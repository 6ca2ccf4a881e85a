// Propose an exchange (交流发言): the member is its speaker; the branch secretary approves it before it counts.
const api = require('../../utils/api');
const branch = require('../../utils/branch');
const quota = require('../../utils/quota');

Component({
  data: {
    title: '',
    date: '',
    start: '14:00',
    end: '16:00',
    place: '',
    summary: '',
    today: '',
    submitting: false,
    errors: {},
  },
  methods: {
    onLoad() {
      const today = branch.beijingToday();
      this.setData({ today, date: today });
    },
    onField(e) {
      this.setData({ [e.currentTarget.dataset.field]: e.detail.value });
    },
    async submit() {
      if (this.data.submitting) return;
      const d = this.data;
      if (!d.title.trim() || !d.place.trim()) {
        wx.showToast({ title: '请填写主题和地点', icon: 'none' });
        return;
      }
      const me = api.currentMember() || await api.get('/me');
      this.setData({ submitting: true, errors: {} });
      try {
        await api.post('/exchanges', {
          title: d.title.trim(),
          starts_at: quota.beijingDateTime(d.date, d.start),
          ends_at: quota.beijingDateTime(d.date, d.end),
          place: d.place.trim(),
          summary: d.summary.trim(),
          speaker_ids: [me.id],
        });
        wx.showToast({ title: '已提交，等待书记审核', icon: 'none' });
        wx.navigateBack();
      } catch (err) {
        this.setData({ errors: (err.details && err.details.fields) || {} });
        api.showError(err);
      } finally {
        this.setData({ submitting: false });
      }
    },
  },
});
