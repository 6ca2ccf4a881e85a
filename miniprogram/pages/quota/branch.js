// The branch's 1+4+1 board (公示): every active member's approved talks, attendance and books this year.
const api = require('../../utils/api');
const format = require('../../utils/format');
const loader = require('../../utils/loader');

Component({
  data: {
    loading: true,
    branchId: 0,
    error: '',
    branchName: '',
    year: 0,
    policy: {},
    rows: [],
    memberCount: 0,
    completeCount: 0,
    rate: '',
  },
  methods: {
    onLoad(query) {
      this.setData({ branchId: Number((query && query.branch_id) || 0) });
    },
    onShow() {
      this.load();
    },
    load() {
      return loader.load(this, async () => {
        const me = await api.get('/me');
        const branchId = this.data.branchId || (me.branch && me.branch.id);
        if (!branchId) throw new api.ApiError(404, 'no_branch', '您不属于任何支部，没有公示可看');
        const board = await api.get(`/branches/${branchId}/quota-board`);
        return {
          branchName: board.branch.name,
          year: board.year,
          policy: board.policy,
          memberCount: board.member_count,
          completeCount: board.complete_count,
          rate: format.percent(board.completion_rate),
          rows: board.members.map((m) => ({ ...m, mine: m.member_id === me.id, group: m.group || '' })),
        };
      });
    },
  },
});
