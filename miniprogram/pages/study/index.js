// 学习 (tab): today's items with the member's own state, today's progress and the streak.
const api = require('../../utils/api');
const format = require('../../utils/format');
const loader = require('../../utils/loader');

/** The view of /materials/today: labels and percentages prepared for the WXML. */
function present(today) {
  const { total, completed } = today.progress;
  return {
    dayLabel: format.longDate(today.day),
    total,
    completed,
    percent: total ? Math.round((completed * 100) / total) : 0,
    allDone: total > 0 && completed === total,
    streak: today.streak,
    items: today.items.map((item) => ({
      id: item.id,
      title: item.title,
      meta: [item.source, item.kind_label, format.minutes(item.estimated_minutes)].filter(Boolean).join(' · '),
      tags: item.tags,
      done: item.state.completed,
      started: !!item.state.opened_at && !item.state.completed,
    })),
  };
}

Component({
  data: { loading: true, error: '', view: null },
  methods: {
    ...loader.reloading,

    load() {
      return loader.load(this, async () => ({ view: present(await api.get('/materials/today')) }));
    },

    openItem(e) {
      wx.navigateTo({ url: `/pages/study/reader?id=${e.currentTarget.dataset.id}` });
    },

    openArchive() {
      wx.navigateTo({ url: '/pages/study/archive' });
    },
  },
});
