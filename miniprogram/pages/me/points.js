// 学习积分: totals, what each rule can still give today, and every entry with what earned it, in Chinese.
const api = require('../../utils/api');
const format = require('../../utils/format');

const PER_PAGE = 20;

/** An entry's label: the server's own, else the rule's label from /me/points; a negative row is a take-back. */
function entryRow(entry, labels) {
  const label = entry.label || labels[entry.rule] || '学习积分';
  return { id: entry.id, label: entry.points < 0 ? `${label}（撤回）` : label,
    when: format.shortDateTime(entry.occurred_at), points: entry.points > 0 ? `+${entry.points}` : String(entry.points),
    negative: entry.points < 0 };
}

Component({
  data: {
    loading: true,
    error: '',
    labels: {},
    points: { total: 0, week: 0, year: 0, today: 0 },
    rules: [],
    entries: [],
    page: 0,
    more: false,
  },
  methods: {
    onLoad() {
      this.load();
    },
    async load() {
      try {
        const points = await api.get('/me/points');
        this.setData({
          points,
          labels: Object.fromEntries(points.rules.map((r) => [r.rule, r.label])),
          rules: points.rules.filter((r) => r.daily_cap !== null)
            .map((r) => ({ rule: r.rule, label: r.label, earned: r.earned_today, cap: r.daily_cap })),
        });
        await this.more();
        this.setData({ loading: false });
      } catch (err) {
        this.setData({ loading: false, error: err.message });
      }
    },
    async more() {
      const page = this.data.page + 1;
      const res = await api.get('/me/points/entries', { page, per_page: PER_PAGE });
      this.setData({ page, more: page * PER_PAGE < res.total,
        entries: this.data.entries.concat(res.items.map((e) => entryRow(e, this.data.labels))) });
    },
    onReachBottom() {
      if (this.data.more) this.more().catch(api.showError);
    },
  },
});
