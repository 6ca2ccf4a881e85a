// 我的: who I am, my points, the way to my inbox (with the unread badge), leaderboards and settings; a secretary
// or admin also finds the branch desk here.
const api = require('../../utils/api');
const auth = require('../../utils/auth');
const loader = require('../../utils/loader');

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
    load() {
      return loader.load(this, async () => {
        const [member, points, unread] = await Promise.all([
          api.get('/me'), api.get('/me/points'), api.get('/me/inbox/unread-count'),
        ]);
        if (unread.unread) wx.setTabBarBadge({ index: 3, text: String(Math.min(unread.unread, 99)) });
        else wx.removeTabBarBadge({ index: 3 });
        return { member, points, unread: unread.unread, manager: auth.isManager(member) };
      });
    },
    go(e) {
      wx.navigateTo({ url: e.currentTarget.dataset.url });
    },
  },
});
