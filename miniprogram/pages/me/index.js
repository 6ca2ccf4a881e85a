// 我的: who I am, my points, the way to my inbox (with the unread badge), leaderboards and settings; a secretary
// or admin also finds the branch desk here.
const api = require('../../utils/api');
const auth = require('../../utils/auth');

Component({
  data: {
    loading: true,
    error: '',
    member: null,
    points: { total: 0, week: 0, today: 0 },
    unread: 0,
    manager: false,
  },
  methods: {
    onShow() {
      this.load();
    },
    async load() {
      try {
        const [member, points, unread] = await Promise.all([
          api.get('/me'), api.get('/me/points'), api.get('/me/inbox/unread-count'),
        ]);
        this.setData({ loading: false, error: '', member, points, unread: unread.unread,
          manager: auth.isManager(member) });
        if (unread.unread) wx.setTabBarBadge({ index: 3, text: String(Math.min(unread.unread, 99)) });
        else wx.removeTabBarBadge({ index: 3 });
      } catch (err) {
        this.setData({ loading: false, error: err.message });
      }
    },
    go(e) {
      wx.navigateTo({ url: e.currentTarget.dataset.url });
    },
  },
});
