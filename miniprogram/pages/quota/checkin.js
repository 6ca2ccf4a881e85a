// Check in to an exchange: scan the QR the secretary shows (bs-checkin:<id>:<code>), or pick the exchange and
// type its 6-digit code. A second check-in is harmless and says so.
const api = require('../../utils/api');
const format = require('../../utils/format');
const quota = require('../../utils/quota');

Component({
  data: {
    exchanges: [],
    selectedId: 0,
    code: '',
    result: null, // {title, text, ok}
    submitting: false,
  },
  methods: {
    onLoad(query) {
      this.setData({ selectedId: Number((query && query.id) || 0) });
      this.loadExchanges();
    },
    async loadExchanges() {
      try {
        const page = await api.get('/exchanges', { status: 'approved', per_page: 50 });
        const now = Date.now();
        // The exchanges whose check-in may be open: from a day before the start to the end.
        const open = page.items.filter((e) => Date.parse(e.ends_at) >= now - 15 * 60000
          && Date.parse(e.starts_at) <= now + 24 * 3600000)
          .map((e) => ({ id: e.id, title: e.title, when: `${format.shortDateTime(e.starts_at)} · ${e.place || '线上'}` }));
        const selectedId = this.data.selectedId || (open.length === 1 ? open[0].id : 0);
        this.setData({ exchanges: open, selectedId });
      } catch (err) {
        api.showError(err);
      }
    },
    scan() {
      wx.scanCode({
        onlyFromCamera: true,
        scanType: ['qrCode'],
        success: (res) => {
          const parsed = quota.parseCheckin(res.result);
          if (!parsed) {
            this.setData({ result: { ok: false, title: '不是签到二维码', text: '请扫描书记展示的交流签到二维码，或手动输入 6 位签到码。' } });
            return;
          }
          this.submit(parsed.exchangeId, parsed.code);
        },
      });
    },
    pick(e) {
      this.setData({ selectedId: Number(e.currentTarget.dataset.id) });
    },
    onCode(e) {
      this.setData({ code: e.detail.value });
    },
    typed() {
      if (!this.data.selectedId) {
        wx.showToast({ title: '请先选择要签到的交流', icon: 'none' });
        return;
      }
      if (!quota.isCode(this.data.code)) {
        wx.showToast({ title: '签到码是 6 位数字', icon: 'none' });
        return;
      }
      this.submit(this.data.selectedId, this.data.code.trim());
    },
    async submit(exchangeId, code) {
      if (this.data.submitting) return;
      this.setData({ submitting: true });
      try {
        const res = await api.post(`/exchanges/${exchangeId}/check-in`, { code });
        const exchange = await api.get(`/exchanges/${exchangeId}`);
        this.setData({ result: res.first_time
          ? { ok: true, title: '签到成功', text: `「${exchange.title}」已签到，计入参加交流 1 次。` }
          : { ok: true, title: '您已签到过', text: `「${exchange.title}」此前已签到，不重复计数。` } });
      } catch (err) {
        this.setData({ result: { ok: false, title: '签到未成功', text: err.message } });
      } finally {
        this.setData({ submitting: false });
      }
    },
    back() {
      wx.navigateBack();
    },
  },
});
