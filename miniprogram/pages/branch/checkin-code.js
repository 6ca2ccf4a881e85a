// 签到码 (secretary, admin): pick an exchange, then show its QR and 6-digit code full screen for members to scan.
// The QR is drawn by the server (qr_image), so the phone needs no QR library.
const api = require('../../utils/api');
const format = require('../../utils/format');

Component({
  data: { loading: true, error: '', exchanges: [], shown: null },
  methods: {
    async onLoad(query) {
      try {
        if (query && query.id) {
          await this.show(Number(query.id));
          return;
        }
        const page = await api.get('/exchanges', { status: 'approved', branch_id: query && query.branch_id, per_page: 50 });
        const now = Date.now();
        const exchanges = page.items.filter((e) => Date.parse(e.ends_at) >= now - 15 * 60000)
          .sort((a, b) => Date.parse(a.starts_at) - Date.parse(b.starts_at))
          .map((e) => ({ id: e.id, title: e.title, when: `${format.shortDateTime(e.starts_at)} · ${e.place || '线上'}` }));
        this.setData({ loading: false, exchanges });
      } catch (err) {
        this.setData({ loading: false, error: err.message });
      }
    },
    pick(e) {
      this.show(Number(e.currentTarget.dataset.id)).catch(api.showError);
    },
    async show(id) {
      const [exchange, code] = await Promise.all([api.get(`/exchanges/${id}`), api.get(`/exchanges/${id}/check-in-code`)]);
      this.setData({ loading: false, error: '', shown: {
        id, title: exchange.title, place: exchange.place || '线上', code: code.code, image: code.qr_image,
        from: format.shortDateTime(code.valid_from), until: format.shortDateTime(code.valid_until),
        attendees: exchange.attendee_count } });
      wx.setNavigationBarTitle({ title: '签到码' });
    },
    async refresh() {
      try {
        await this.show(this.data.shown.id);
      } catch (err) {
        api.showError(err);
      }
    },
  },
});
