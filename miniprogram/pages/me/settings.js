// 通知设置: reminders on/off, quiet hours, and the subscribe messages — what each tells me, how many I have
// allowed, and a tap to allow one more (WeChat asks; the answer is reported to the backend).
const api = require('../../utils/api');
const loader = require('../../utils/loader');
const subscribe = require('../../utils/subscribe');

function consentRow(c) {
  const d = subscribe.describe(c.purpose);
  return { templateId: c.template_id, purpose: c.purpose, label: d.label, when: d.when, remaining: c.remaining,
    banned: c.banned };
}

Component({
  data: {
    loading: true,
    error: '',
    prefs: { reminders_enabled: true, quiet_hours_enabled: true, quiet_start: '22:00', quiet_end: '07:00' },
    consents: [],
  },
  methods: {
    onShow() {
      this.load();
    },
    load() {
      return loader.load(this, async () => {
        const [prefs, consents] = await Promise.all([
          api.get('/me/notification-preferences'), api.get('/me/subscriptions'),
        ]);
        return { prefs, consents: consents.map(consentRow) };
      });
    },
    async save(change) {
      try {
        const prefs = await api.put('/me/notification-preferences', change);
        this.setData({ prefs });
        wx.showToast({ title: '已保存', icon: 'success' });
      } catch (err) {
        api.showError(err);
        this.load();
      }
    },
    onSwitch(e) {
      this.save({ [e.currentTarget.dataset.field]: e.detail.value });
    },
    onTime(e) {
      this.save({ [e.currentTarget.dataset.field]: e.detail.value });
    },
    // Called from the tap itself: WeChat shows its consent dialog only in answer to a user gesture.
    allow(e) {
      const templateId = e.currentTarget.dataset.id;
      subscribe.ask([templateId]).then((consents) => {
        if (consents) this.setData({ consents: consents.map(consentRow) });
      }).catch(api.showError);
    },
  },
});
