// 往期学习: everything whose day has come, newest first; search by title or tag, or tap a tag.
const api = require('../../utils/api');
const format = require('../../utils/format');
const loader = require('../../utils/loader');

const PER_PAGE = 20;

function present(item) {
  return {
    id: item.id,
    title: item.title,
    day: format.monthDay(item.day),
    meta: [item.source, item.kind_label, format.minutes(item.estimated_minutes)].filter(Boolean).join(' · '),
    tags: item.tags,
    done: !!(item.state && item.state.completed),
  };
}

/** The tags of a page of items, most frequent first (the archive has no tag list of its own). */
function commonTags(items, limit = 8) {
  const counts = {};
  items.forEach((item) => item.tags.forEach((tag) => { counts[tag] = (counts[tag] || 0) + 1; }));
  return Object.keys(counts).sort((a, b) => counts[b] - counts[a]).slice(0, limit);
}

Component({
  data: { loading: true, error: '', keyword: '', tag: '', tags: [], items: [], page: 1, more: false, total: 0 },
  methods: {
    onLoad() {
      this.load(1);
    },

    load(page) {
      this.setData({ loading: true });
      return loader.load(this, async () => {
        const res = await api.get('/materials', { q: this.data.keyword.trim(), tag: this.data.tag, page, per_page: PER_PAGE });
        const items = (page === 1 ? [] : this.data.items).concat(res.items.map(present));
        const tags = this.data.tags.length ? this.data.tags : commonTags(res.items);
        return { items, tags, page, total: res.total, more: items.length < res.total };
      });
    },

    onInput(e) {
      this.setData({ keyword: e.detail.value });
    },

    search() {
      this.load(1);
    },

    pickTag(e) {
      const tag = e.currentTarget.dataset.tag;
      this.setData({ tag: tag === this.data.tag ? '' : tag });
      this.load(1);
    },

    onReachBottom() {
      if (this.data.more && !this.data.loading) this.load(this.data.page + 1);
    },

    open(e) {
      wx.navigateTo({ url: `/pages/study/reader?id=${e.currentTarget.dataset.id}` });
    },
  },
});
