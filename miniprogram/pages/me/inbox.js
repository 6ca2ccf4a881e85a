// 消息: every notification the backend wrote for me (pushed or not), newest first; opening one marks it read and
// follows its link into the mini-program.
const api = require('../../utils/api');
const format = require('../../utils/format');
const loader = require('../../utils/loader');

const PER_PAGE = 20;

function row(n) {
  return { id: n.id, title: n.title, body: n.body, when: format.shortDateTime(n.created_at), read: n.read,
    page: n.page || '' };
}

Component({
  data: { loading: true, error: '', items: [], page: 0, more: false, unread: 0 },
  methods: {
    onShow() {
      this.setData({ items: [], page: 0 });
      this.load();
    },
    load() {
      return loader.load(this, async () => {
        const page = this.data.page + 1;
        const res = await api.get('/me/inbox', { page, per_page: PER_PAGE });
        const items = this.data.items.concat(res.items.map(row));
        return { items, page, more: page * PER_PAGE < res.total, unread: items.filter((i) => !i.read).length };
      });
    },
    onReachBottom() {
      if (this.data.more) this.load();
    },
    async open(e) {
      const index = Number(e.currentTarget.dataset.index);
      const item = this.data.items[index];
      try {
        if (!item.read) {
          await api.post(`/me/inbox/${item.id}/read`);
          this.setData({ [`items[${index}].read`]: true, unread: this.data.unread - 1 });
        }
        if (item.page) wx.navigateTo({ url: `/${item.page}` });
      } catch (err) {
        api.showError(err);
      }
    },
    async readAll() {
      try {
        await api.post('/me/inbox/read-all');
        this.setData({ items: this.data.items.map((i) => ({ ...i, read: true })), unread: 0 });
        wx.removeTabBarBadge({ index: 3 });
      } catch (err) {
        api.showError(err);
      }
    },
  },
});
