// 1+4+1: this year's progress against the quota and the pace, the exchanges to attend, my records with their
// status (and why one was sent back), and the ways in: check in, propose, record a book, the branch's board.
const api = require('../../utils/api');
const format = require('../../utils/format');
const loader = require('../../utils/loader');
const quota = require('../../utils/quota');

function exchangeRow(e) {
  return { id: e.id, title: e.title, when: format.shortDateTime(e.starts_at), place: e.place || '线上',
    status: e.status, statusLabel: e.status_label, tag: quota.statusTag(e.status), reason: e.reject_reason || '' };
}

function recordRow(r) {
  return { id: r.exchange_id, title: r.title, when: format.shortDateTime(r.starts_at), statusLabel: r.status_label,
    tag: r.counts ? 'tag-green' : quota.statusTag(r.status), counts: r.counts };
}

function bookRow(b) {
  return { id: b.id, title: b.title, author: b.author, status: b.status, statusLabel: b.status_label,
    tag: quota.statusTag(b.status), reason: b.reject_reason || '', finished: format.monthDay(b.finished_on) };
}

Component({
  data: {
    loading: true,
    error: '',
    year: 0,
    pace: { text: '', tag: '' },
    items: [],
    upcoming: [],
    talks: [],
    attendance: [],
    books: [],
    proposals: [],
  },
  methods: {
    ...loader.reloading,
    load() {
      return loader.load(this, async () => {
        const me = api.currentMember() || await api.get('/me');
        const [progress, approved, pending, rejected] = await Promise.all([
          api.get('/me/quota'),
          api.get('/exchanges', { status: 'approved', per_page: 50 }),
          api.get('/exchanges', { status: 'pending', per_page: 50 }),
          api.get('/exchanges', { status: 'rejected', per_page: 50 }),
        ]);
        const now = Date.now();
        const upcoming = approved.items.filter((e) => Date.parse(e.ends_at) >= now)
          .sort((a, b) => Date.parse(a.starts_at) - Date.parse(b.starts_at));
        const mine = pending.items.concat(rejected.items).filter((e) => e.proposed_by_id === me.id);
        return {
          year: progress.year,
          pace: quota.pace(progress.pace),
          items: quota.itemRows(progress),
          upcoming: upcoming.map(exchangeRow),
          talks: progress.talks.map(recordRow),
          attendance: progress.attendance.map(recordRow),
          books: progress.books.map(bookRow),
          proposals: mine.map(exchangeRow),
        };
      });
    },
    go(e) {
      wx.navigateTo({ url: e.currentTarget.dataset.url });
    },
    checkIn(e) {
      wx.navigateTo({ url: `/pages/quota/checkin?id=${e.currentTarget.dataset.id}` });
    },
    reviseBook(e) {
      wx.navigateTo({ url: `/pages/quota/book?id=${e.currentTarget.dataset.id}` });
    },
  },
});
