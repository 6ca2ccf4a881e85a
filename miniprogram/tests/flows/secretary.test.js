// A secretary on the phone, against the real backend, in a branch no other test file touches (branch 2): the
// completion figures, 一键提醒 after a confirmation naming exactly who — and the backend reminded exactly them —
// approving and sending back book reports, and an exchange's check-in code full screen. An admin picks a branch.
const branch = require('../../utils/branch');
const server = require('../harness/server');
const { phone } = require('../harness/wx');
const { openPage, until, untilText, tap, input, text } = require('../harness/page');

const BRANCH = 2;
const OPENID = 'mp-secretary-2';
let adminToken;
let secretaryToken;

beforeAll(async () => {
  adminToken = await server.login('demo-admin');
  const members = (await server.call('GET', `/branches/${BRANCH}/members?per_page=100`, { token: adminToken })).body.items;
  const secretary = members.find((m) => m.role === 'secretary');
  secretaryToken = await server.login(OPENID, secretary.phone);
  // Today's item for branch 2 only, just published: every member of the branch is behind on it.
  const today = (await server.call('GET', `/branches/${BRANCH}/reading`, { token: secretaryToken })).body;
  const day = new Date(Date.now() + 8 * 3600000).toISOString().slice(0, 10);
  const res = await server.call('POST', '/materials', { token: secretaryToken, body: {
    title: '支部专题学习：新时代党的建设总要求', day, publish: true, body: '学习要点。', estimated_minutes: 1,
    audience: { branch_ids: [BRANCH] } } });
  expect(res.status).toBe(201);
  expect(today.summary).toBeTruthy();
});

beforeEach(() => {
  phone.openid = OPENID;
});

test('the branch desk shows today\'s and this week\'s completion, the quiz and 1+4+1, and who is behind', async () => {
  const page = openPage('pages/branch/index');
  await until(() => page.instance.data.today, page);
  const shown = text(page);
  const [todayFig, weekFig, board] = await Promise.all([
    server.call('GET', `/branches/${BRANCH}/reading?day=${new Date(Date.now() + 8 * 3600000).toISOString().slice(0, 10)}`,
      { token: secretaryToken }),
    server.call('GET', `/branches/${BRANCH}/reading`, { token: secretaryToken }),
    server.call('GET', `/branches/${BRANCH}/quota-board`, { token: secretaryToken }),
  ]);
  const pct = (r) => (r === null ? '—' : `${(r * 100).toFixed(0)}%`);
  expect(page.querySelector('#today-rate').dom.textContent.trim()).toBe(pct(todayFig.body.summary.rate));
  expect(page.querySelector('#week-rate').dom.textContent.trim()).toBe(pct(weekFig.body.summary.rate));
  expect(shown).toContain(pct(board.body.completion_rate));
  expect(shown).toContain('本周测验');
  expect(shown).toContain('导入党员名册'); // what the phone cannot do, with the console's address
  expect(shown).toMatch(/\/console\/imports\/roster/);
  const behind = branch.splitAudience((await server.call('GET', `/branches/${BRANCH}/reminders?kind=quota`, { token: secretaryToken })).body);
  for (const m of behind.members) expect(page.querySelector('#behind-quota').dom.textContent).toContain(m.name);
});

test('one-tap reminder confirms with exactly the names, and the backend reminds exactly them', async () => {
  const page = openPage('pages/branch/index');
  await until(() => page.instance.data.today, page);
  tap(page, '#remind-reading');
  await until(() => phone.toasts.find((t) => t.startsWith('已提醒')), page);

  expect(phone.modals).toHaveLength(1);
  const content = phone.modals[0].content;
  const after = branch.splitAudience((await server.call('GET', `/branches/${BRANCH}/reminders?kind=reading`, { token: secretaryToken })).body);
  expect(after.members).toEqual([]);
  const reminded = after.already_reminded;
  expect(reminded.length).toBeGreaterThan(0);
  expect(phone.modals[0].title).toBe(`提醒 ${reminded.length} 人学习`);
  const named = content.split('：')[1].split('\n')[0].split('、');
  expect(named.sort()).toEqual(reminded.map((m) => m.name).sort());
  expect(phone.toasts).toContain(`已提醒 ${reminded.length} 人`);

  // In the outbox: one reading reminder for each named member of the branch, and for nobody else.
  const rows = (await server.call('GET', '/admin/outbox?status=pending&per_page=200', { token: adminToken })).body.items
    .filter((r) => r.kind === 'reminder_reading' && r.branch_id === BRANCH);
  expect(rows.map((r) => r.member_id).sort()).toEqual(reminded.map((m) => m.id).sort());

  // A second tap has nobody left to remind, and says so without asking.
  await until(() => !page.querySelector('#remind-reading'), page);
  expect(page.querySelector('#behind-reading').dom.textContent).toContain(`今天已提醒 ${reminded.length} 人`);
});

test('cancelling the confirmation reminds nobody', async () => {
  phone.modalConfirm = false;
  const page = openPage('pages/branch/index');
  await until(() => page.instance.data.today, page);
  const before = branch.splitAudience((await server.call('GET', `/branches/${BRANCH}/reminders?kind=quota`, { token: secretaryToken })).body);
  tap(page, '#remind-quota');
  await until(() => phone.modals.length, page);
  await new Promise((r) => setTimeout(r, 200));
  const after = branch.splitAudience((await server.call('GET', `/branches/${BRANCH}/reminders?kind=quota`, { token: secretaryToken })).body);
  expect(after).toEqual(before);
  expect(phone.requests.filter((r) => r.method === 'POST' && r.url.includes('/reminders'))).toEqual([]);
});

test('the secretary approves one book report and sends another back with a reason', async () => {
  const pending = (await server.call('GET', `/branches/${BRANCH}/books?status=pending&per_page=50`,
    { token: secretaryToken })).body.items;
  expect(pending.length).toBeGreaterThan(1);
  const [first, second] = pending;
  const page = openPage('pages/branch/approvals', { branch_id: String(BRANCH) });
  await untilText(page, first.title);

  tap(page, `#approve-book-${first.id}`);
  await until(() => !page.querySelector(`#book-${first.id}`), page);
  expect((await server.call('GET', `/books/${first.id}`, { token: secretaryToken })).body.status).toBe('approved');

  tap(page, `#reject-book-${second.id}`);
  await until(() => page.querySelector(`#reason-book-${second.id}`), page);
  input(page, `#reason-book-${second.id}`, '心得请结合本岗位工作谈体会');
  tap(page, `#confirm-reject-book-${second.id}`);
  await until(() => !page.querySelector(`#book-${second.id}`), page);
  const rejected = (await server.call('GET', `/books/${second.id}`, { token: secretaryToken })).body;
  expect(rejected).toEqual(expect.objectContaining({ status: 'rejected', reject_reason: '心得请结合本岗位工作谈体会' }));
});

test('the secretary approves a proposed exchange from the same queue', async () => {
  const pending = (await server.call('GET', `/exchanges?status=pending&branch_id=${BRANCH}&per_page=50`,
    { token: secretaryToken })).body.items;
  expect(pending.length).toBeGreaterThan(0);
  const proposal = pending[0];
  const page = openPage('pages/branch/approvals', { branch_id: String(BRANCH) });
  await untilText(page, proposal.title);
  tap(page, `#approve-exchange-${proposal.id}`);
  await until(() => !page.querySelector(`#exchange-${proposal.id}`), page);
  expect((await server.call('GET', `/exchanges/${proposal.id}`, { token: secretaryToken })).body.status).toBe('approved');
});

test('an exchange\'s check-in code and QR are shown full screen', async () => {
  const exchanges = (await server.call('GET', `/exchanges?status=approved&branch_id=${BRANCH}&per_page=50`,
    { token: secretaryToken })).body.items;
  const upcoming = exchanges.find((e) => Date.parse(e.starts_at) > Date.now());
  const code = (await server.call('GET', `/exchanges/${upcoming.id}/check-in-code`, { token: secretaryToken })).body;

  const list = openPage('pages/branch/checkin-code', { branch_id: String(BRANCH) });
  await until(() => list.querySelector(`#exchange-${upcoming.id}`), list);
  tap(list, `#exchange-${upcoming.id}`);
  await until(() => list.querySelector('#code-screen'), list);
  expect(list.querySelector('#code').dom.textContent.trim()).toBe(code.code);
  expect(list.querySelector('#qr')).toBeTruthy();
  expect(list.instance.data.shown.image).toBe(code.qr_image); // the <image> src is bound to it
  expect(code.qr_image).toMatch(/^data:image\/png;base64,/);
  expect(text(list)).toContain(upcoming.title);
});

test('an admin picks a branch of the subtree and sees its figures', async () => {
  phone.openid = 'demo-admin';
  const page = openPage('pages/branch/index', { branch_id: '3' });
  await until(() => page.instance.data.today, page);
  expect(page.querySelector('#branch-picker')).toBeTruthy();
  const branches = (await server.call('GET', '/committees/1/branches', { token: adminToken })).body;
  expect(text(page)).toContain(branches.find((b) => b.id === 3).name);
  const requested = phone.requests.map((r) => r.url);
  expect(requested.some((u) => u.includes('/branches/3/reading'))).toBe(true);
  expect(requested.some((u) => u.includes(`/branches/${BRANCH}/reading`))).toBe(false);
});
