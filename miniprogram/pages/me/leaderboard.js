// 积分排行榜: the branch's and the committee's rankings by week, month or year, with my own place.
const api = require('../../utils/api');
const loader = require('../../utils/loader');

const PERIODS = [
  { key: 'week', label: '本周' }, { key: 'month', label: '本月' }, { key: 'year', label: '今年' },
];

Component({
  data: {
    scopes: [],
    scope: 'branch',
    periods: PERIODS,
    period: 'week',
    entries: [],
    me: null,
    myId: 0,
    loading: true,
    error: '',
  },
  methods: {
    async onLoad() {
      try {
        const me = await api.get('/me');
        const scopes = [];
        if (me.branch) scopes.push({ key: 'branch', label: me.branch.name, path: `/branches/${me.branch.id}/leaderboard` });
        scopes.push({ key: 'committee', label: me.committee.name, path: `/committees/${me.committee.id}/leaderboard` });
        this.setData({ scopes, scope: scopes[0].key, myId: me.id });
        await this.load();
      } catch (err) {
        this.setData({ loading: false, error: err.message });
      }
    },
    load() {
      const scope = this.data.scopes.find((s) => s.key === this.data.scope);
      return loader.load(this, async () => {
        const board = await api.get(scope.path, { period: this.data.period, limit: 50 });
        return { me: board.me,
          entries: board.entries.map((e) => ({ ...e, mine: e.member_id === this.data.myId, top: e.rank <= 3 })) };
      });
    },
    pickScope(e) {
      this.setData({ scope: e.currentTarget.dataset.key });
      this.load();
    },
    pickPeriod(e) {
      this.setData({ period: e.currentTarget.dataset.key });
      this.load();
    },
  },
});
