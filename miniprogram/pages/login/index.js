// 登录: a bound member is logged in silently and sent on; a first visit binds with the getPhoneNumber button;
// every refusal (not on the roster, bound elsewhere, deactivated) is explained in plain Chinese.
const api = require('../../utils/api');
const auth = require('../../utils/auth');

const FINAL = ['member_inactive']; // binding again cannot help

Component({
  data: {
    state: 'checking', // checking | bind | blocked | error
    explanation: null,
    message: '',
    busy: false,
  },
  methods: {
    onLoad(query) {
      const reason = query && query.reason;
      if (reason && reason !== 'not_bound') this.showReason(reason, '');
      else this.tryLogin();
    },

    async tryLogin() {
      this.setData({ state: 'checking', message: '' });
      try {
        api.clearSession();
        await api.silentLogin();
        this.enter();
      } catch (err) {
        this.showReason(err.code, err.message);
      }
    },

    showReason(code, message) {
      const explanation = auth.explain(code);
      if (code === 'not_bound') this.setData({ state: 'bind', explanation, message: '' });
      else if (FINAL.includes(code)) this.setData({ state: 'blocked', explanation, message: '' });
      else if (explanation) this.setData({ state: 'bind', explanation, message: '' });
      else this.setData({ state: 'error', explanation: null, message: message || '登录失败，请稍后重试' });
    },

    async onGetPhoneNumber(e) {
      if (this.data.busy) return;
      this.setData({ busy: true });
      try {
        await auth.bindWithPhone(e.detail);
        this.enter();
      } catch (err) {
        this.showReason(err.code, err.message);
      } finally {
        this.setData({ busy: false });
      }
    },

    enter() {
      this.setData({ state: 'done' });
      wx.switchTab({ url: '/pages/study/index' });
    },
  },
});
