// A member's 1+4+1 and 我的 on the phone, against the real backend: check in by scanning the QR payload, record
// a book, read the inbox, allow a subscribe message, set quiet hours — each outcome read back from the server.
const server = require('../harness/server');
const { phone } = require('../harness/wx');
const { openPage, until, untilText, tap, input, fire, text } = require('../harness/page');

const OPENID = 'mp-quota-member';
let memberToken;
let secretaryToken;

function beijingIso(ms) {
  return `${new Date(ms + 8 * 3600000).toISOString().slice(0, 19)}+08:00`;
}

beforeAll(async () => {
  // A member of branch 1 of our own (bound here), so other test files' members are left alone.
  const phones = await server.unboundPhones(1);
  memberToken = await server.login(OPENID, phones[phones.length - 1]);
  secretaryToken = await server.login('demo-secretary');
});

beforeEach(() => {
  phone.openid = OPENID;
});

async function exchangeNow(title) {
  const members = (await server.call('GET', '/branches/1/members?per_page=100', { token: secretaryToken })).body.items;
  const speaker = members.find((m) => m.role === 'member' && m.phone !== undefined);
  const now = Date.now();
  const res = await server.call('POST', '/exchanges', { token: secretaryToken, body: {
    title, starts_at: beijingIso(now - 5 * 60000), ends_at: beijingIso(now + 60 * 60000), place: '三楼党员活动室',
    summary: '现场交流', speaker_ids: [speaker.id] } });
  expect(res.status).toBe(201);
  const code = await server.call('GET', `/exchanges/${res.body.id}/check-in-code`, { token: secretaryToken });
  return { exchange: res.body, code: code.body };
}

test('a member checks in by scanning the QR and a second scan counts nothing twice', async () => {
  const { exchange, code } = await exchangeNow('现场签到演练交流');
  // An attendance counts once the exchange has been held: until its end it is 已安排 (attended_scheduled).
  const quota = async () => (await server.call('GET', '/me/quota', { token: memberToken })).body;
  const before = await quota();
  const scans = [];
  const realScan = wx.scanCode;
  wx.scanCode = (opts) => { scans.push(opts); return realScan(opts); };
  phone.scanResult = code.qr_payload;
  try {
    const page = openPage('pages/quota/checkin');
    tap(page, '#scan');
    await untilText(page, '签到成功');
    expect(text(page)).toContain('现场签到演练交流');
    expect(scans[0]).toEqual(expect.objectContaining({ onlyFromCamera: true }));

    const detail = await server.call('GET', `/exchanges/${exchange.id}`, { token: memberToken });
    expect(detail.body.checked_in).toBe(true);
    const after = await quota();
    expect(after.attended_scheduled).toBe(before.attended_scheduled + 1);
    expect(after.attended).toBe(before.attended);

    tap(page, '#scan');
    await untilText(page, '您已签到过');
    expect(await quota()).toEqual(after);
  } finally {
    wx.scanCode = realScan;
  }
});

test('a typed code checks in too, and a wrong one shows the server\'s message', async () => {
  const { exchange, code } = await exchangeNow('输入签到码演练交流');
  const page = openPage('pages/quota/checkin', { id: String(exchange.id) });
  await until(() => page.instance.data.exchanges.length, page);
  input(page, '#code', code.code === '000000' ? '000001' : '000000');
  tap(page, '#submit-code');
  await untilText(page, '签到未成功');
  expect(text(page)).toMatch(/签到码/);

  input(page, '#code', code.code);
  tap(page, '#submit-code');
  await untilText(page, '签到成功');
  expect((await server.call('GET', `/exchanges/${exchange.id}`, { token: memberToken })).body.checked_in).toBe(true);

  phone.scanResult = 'https://example.com/not-ours';
  tap(page, '#scan');
  await untilText(page, '不是签到二维码');
});

test('a member records a book with a reflection; a short reflection is stopped on the phone', async () => {
  const page = openPage('pages/quota/book');
  input(page, '#title', '凤凰架构：构建可靠的大型分布式系统');
  input(page, '#author', '周志明');
  input(page, '#reflection', '收获很大。');
  tap(page, '#submit');
  await until(() => phone.toasts.length, page);
  expect(phone.toasts[0]).toContain('读书心得至少 100 字');
  expect(phone.requests.filter((r) => r.method === 'POST' && r.url.endsWith('/me/books'))).toEqual([]);

  const reflection = '这本书系统梳理了分布式系统的架构演进，从单体到微服务再到无服务，每一步都讲清楚了背后的权衡。'
    + '结合我们部门订单系统的改造，我体会最深的是服务拆分要以业务边界为准，不能为拆而拆。下一步我准备在班组里组织一次读书分享，'
    + '把书中关于可观测性和容错设计的内容，结合我们线上故障的复盘，整理成一份可执行的改进清单，和同事们一起落实。';
  input(page, '#reflection', reflection);
  await until(() => /1\d\d \/ 至少 100 字/.test(text(page)), page);
  tap(page, '#submit');
  await until(() => phone.navigations.find((n) => n.how === 'navigateBack'), page);

  const books = (await server.call('GET', '/me/books', { token: memberToken })).body.items;
  const saved = books.find((b) => b.title === '凤凰架构：构建可靠的大型分布式系统');
  expect(saved).toEqual(expect.objectContaining({ author: '周志明', status: 'pending', reflection }));

  // The 1+4+1 page lists it as awaiting approval.
  const quota = openPage('pages/quota/index');
  await untilText(quota, '凤凰架构');
  expect(text(quota)).toContain('待审核');
});

test('a member proposes an exchange; it waits for the secretary, with the member as speaker', async () => {
  const page = openPage('pages/quota/propose');
  await until(() => page.instance.data.date, page);
  input(page, '#title', '国产数据库迁移经验分享（提议）');
  input(page, '#place', '三楼党员活动室');
  input(page, '#summary', '结合财务系统迁移，分享兼容性问题的排查方法。');
  tap(page, '#submit');
  await until(() => phone.navigations.find((n) => n.how === 'navigateBack'), page);
  const me = (await server.call('GET', '/me', { token: memberToken })).body;
  const pending = (await server.call('GET', '/exchanges?status=pending&per_page=50', { token: memberToken })).body.items;
  const mine = pending.find((e) => e.title === '国产数据库迁移经验分享（提议）');
  expect(mine).toEqual(expect.objectContaining({ proposed_by_id: me.id, place: '三楼党员活动室', status: 'pending' }));
  expect(mine.speakers.map((s) => s.member_id)).toEqual([me.id]);
  expect(mine.starts_at.slice(11, 16)).toBe('06:00'); // 14:00 Beijing time, stored in UTC
});

test('the inbox shows the unread badge, opens a message, marks it read on the server and follows its link', async () => {
  // A reminder from the secretary puts a message in the member's inbox (a new member is behind on 1+4+1).
  const reminded = await server.call('POST', '/branches/1/reminders', { token: secretaryToken, body: { kind: 'quota' } });
  expect(reminded.status).toBe(200);
  const unread = (await server.call('GET', '/me/inbox/unread-count', { token: memberToken })).body.unread;
  expect(unread).toBeGreaterThan(0);

  const me = openPage('pages/me/index');
  await until(() => page$(me, '#unread-badge'), me);
  // Other test files share the backend: the badge shows the count the server gave while the page loaded.
  const badge = Number(page$(me, '#unread-badge').dom.textContent.trim());
  const unreadNow = (await server.call('GET', '/me/inbox/unread-count', { token: memberToken })).body.unread;
  expect(badge).toBe(me.instance.data.unread);
  expect(badge).toBeGreaterThanOrEqual(unread);
  expect(badge).toBeLessThanOrEqual(unreadNow);

  const inbox = openPage('pages/me/inbox');
  await untilText(inbox, '1+4+1 进度提醒');
  const item = (await server.call('GET', '/me/inbox?per_page=50', { token: memberToken })).body.items
    .find((n) => n.kind === 'reminder_quota');
  tap(inbox, `#message-${item.id}`);
  await until(() => phone.navigations.length, inbox);
  expect(phone.navigations[0]).toEqual({ how: 'navigateTo', url: '/pages/quota/index' });
  const after = (await server.call('GET', '/me/inbox?per_page=50', { token: memberToken })).body.items
    .find((n) => n.id === item.id);
  expect(after.read).toBe(true);

  if (inbox.querySelector('#read-all')) tap(inbox, '#read-all'); // shown only while something is unread
  await untilText(inbox, '没有未读消息');
  const left = (await server.call('GET', '/me/inbox?per_page=100', { token: memberToken })).body.items;
  expect(left.filter((n) => !n.read && Date.parse(n.created_at) <= Date.parse(after.created_at))).toEqual([]);
});

test('settings: allowing a message is asked from the tap and reported; quiet hours are saved', async () => {
  const page = openPage('pages/me/settings');
  await untilText(page, '测验成绩通知');
  const before = (await server.call('GET', '/me/subscriptions', { token: memberToken })).body
    .find((c) => c.purpose === 'quiz_result');
  tap(page, '#allow-quiz_result');
  await until(() => phone.requests.find((r) => r.method === 'POST' && r.url.endsWith('/me/subscriptions')), page);
  expect(phone.subscribeCalls).toEqual([[before.template_id]]);
  await untilText(page, `还可收到 ${before.remaining + 1} 条`);
  const after = (await server.call('GET', '/me/subscriptions', { token: memberToken })).body
    .find((c) => c.purpose === 'quiz_result');
  expect(after.remaining).toBe(before.remaining + 1);

  fire(page, '#quiet-start', 'change', { value: '21:30' });
  fire(page, '#reminders', 'change', { value: false });
  await until(() => phone.toasts.filter((t) => t === '已保存').length === 2, page);
  const prefs = (await server.call('GET', '/me/notification-preferences', { token: memberToken })).body;
  expect(prefs).toEqual(expect.objectContaining({ quiet_start: '21:30', reminders_enabled: false }));
});

test('我的 shows the points total and the points page labels every entry in Chinese', async () => {
  const points = (await server.call('GET', '/me/points', { token: memberToken })).body;
  const me = openPage('pages/me/index');
  await until(() => page$(me, '#points-total'), me);
  expect(page$(me, '#points-total').dom.textContent.trim()).toBe(String(points.total));

  const page = openPage('pages/me/points');
  await until(() => !page.instance.data.loading, page);
  const entries = page.instance.data.entries;
  expect(entries.length).toBeGreaterThan(0); // the demo's history earned points
  for (const entry of entries) expect(entry.label).toMatch(/[\u4e00-\u9fa5]/);
  const serverEntries = (await server.call('GET', '/me/points/entries?per_page=5', { token: memberToken })).body.items;
  for (const entry of serverEntries) expect(text(page)).toContain(entry.label);

  const board = openPage('pages/me/leaderboard');
  await until(() => board.instance.data.me, board);
  tap(board, '#scope-committee');
  // Wait for the committee's board itself (its rows name their branch), not the branch's still on screen.
  await until(() => phone.requests.find((r) => r.url.includes('/committees/') && r.url.includes('/leaderboard')), board);
  await until(() => board.instance.data.entries.some((e) => e.branch), board);
  expect(text(board)).toContain('我的排名');
});

function page$(comp, selector) {
  return comp.querySelector(selector);
}
