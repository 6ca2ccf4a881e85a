// A member binds on first visit, is explained each refusal, and studies today's item to completion — rendered
// pages driven by taps, against the real backend; each outcome is checked in what the server then holds.
const server = require('../harness/server');
const { phone } = require('../harness/wx');
const { openPage, until, untilText, tap, input, fire, text, settle } = require('../harness/page');

let phones;
let material;
beforeAll(async () => {
  phones = await server.unboundPhones(1);
  // Today's item for branch 1, so the reader below starts from nothing studied.
  material = await server.publishToday(1);
});

async function loginPage(openid, query = {}) {
  phone.openid = openid;
  const page = openPage('pages/login/index', query);
  await until(() => page.instance.data.state !== 'checking', page);
  return page;
}

test('a first visit binds by the phone button, then the member is logged in silently', async () => {
  const number = phones[0];
  const page = await loginPage('mp-bind-first');
  expect(text(page)).toContain('首次使用请绑定党员身份');

  fire(page, '#bind', 'getphonenumber', { code: `dev-phone:${number}`, errMsg: 'getPhoneNumber:ok' });
  await until(() => phone.navigations.length, page);
  expect(phone.navigations).toEqual([{ how: 'switchTab', url: '/pages/study/index' }]);

  // The server now knows this WeChat: a plain login (no phone) answers with the member of that phone.
  const res = await server.call('POST', '/auth/wechat', { body: { code: 'dev:mp-bind-first' } });
  expect(res.status).toBe(200);
  expect(res.body.member.phone).toBe(number);
  expect(phone.storage.get('bs_token')).toBeTruthy();
});

test('a phone not on the roster, a member bound elsewhere and a refusal are each explained', async () => {
  const page = await loginPage('mp-bind-stranger');
  fire(page, '#bind', 'getphonenumber', { code: 'dev-phone:13999999999', errMsg: 'getPhoneNumber:ok' });
  await untilText(page, '手机号不在党员名册中');
  expect(text(page)).toContain('请联系支部书记核对名册中的手机号');

  fire(page, '#bind', 'getphonenumber', { code: `dev-phone:${phones[0]}`, errMsg: 'getPhoneNumber:ok' });
  await untilText(page, '该身份已绑定其他微信');

  fire(page, '#bind', 'getphonenumber', { errMsg: 'getPhoneNumber:fail user deny' });
  await untilText(page, '需要授权手机号');
  expect(phone.navigations).toEqual([]);
  // Nothing was bound to the stranger's WeChat.
  const res = await server.call('POST', '/auth/wechat', { body: { code: 'dev:mp-bind-stranger' } });
  expect(res.body.code).toBe('not_bound');
});

test('a deactivated member sees why and is offered no binding', async () => {
  const token = await server.login('mp-deactivated', phones[1]);
  const me = (await server.call('GET', '/me', { token })).body;
  const secretary = await server.login('demo-secretary');
  const off = await server.call('PATCH', `/members/${me.id}`, { token: secretary, body: { active: false } });
  expect(off.status).toBe(200);

  const page = await loginPage('mp-deactivated');
  expect(text(page)).toContain('账号已停用');
  expect(page.querySelector('#bind')).toBeFalsy();
});

test('a member studies an item to completion: opened, too early, then counted with points', async () => {
  const token = await server.login('mp-reader', phones[2]);
  phone.openid = 'mp-reader';
  const before = (await server.call('GET', '/me/points', { token })).body.total;

  const index = openPage('pages/study/index');
  await until(() => index.instance.data.view, index);
  const item = index.instance.data.view.items.find((i) => i.id === material.id);
  expect(item.done).toBe(false);
  expect(text(index)).toContain(item.title);
  expect(text(index)).toMatch(/\d\/\d+ 今日已学/);
  expect(text(index)).toContain('待学习');
  tap(index, `#item-${item.id}`);
  await until(() => phone.navigations.length, index);
  expect(phone.navigations).toEqual([{ how: 'navigateTo', url: `/pages/study/reader?id=${item.id}` }]);

  const reader = openPage('pages/study/reader', { id: String(item.id) });
  await untilText(reader, '完成学习');
  expect(text(reader)).toContain(item.title);
  expect(text(reader)).toContain('阅读满 2 秒 即计入今日学习');
  expect(reader.querySelector('#body')).toBeTruthy();
  await until(() => phone.requests.some((r) => r.method === 'POST' && r.url.endsWith(`/materials/${item.id}/reads`)
    && r.statusCode === 200), reader);
  let today = (await server.call('GET', '/materials/today', { token })).body;
  expect(today.items.find((i) => i.id === item.id).state.opened_at).toBeTruthy();

  tap(reader, '#finish');
  await untilText(reader, '才计入');
  await settle(2200);
  tap(reader, '#finish');
  await untilText(reader, '已计入今日学习');
  expect(text(reader)).toContain('获得 1 积分');
  expect(reader.querySelector('#finish')).toBeFalsy();

  today = (await server.call('GET', '/materials/today', { token })).body;
  expect(today.items.find((i) => i.id === item.id).state.completed).toBe(true);
  expect((await server.call('GET', '/me/points', { token })).body.total).toBe(before + 1);

  // After it counts, one tap asks for tomorrow's reminder and the consent reaches the server.
  await until(() => reader.querySelector('#subscribe'), reader);
  tap(reader, '#subscribe');
  await until(() => reader.querySelector('#consent-result'), reader);
  expect(phone.subscribeCalls).toEqual([['tmpl-study-material']]);
  expect(text(reader)).toContain('已开启');
  const consents = (await server.call('GET', '/me/subscriptions', { token })).body;
  expect(consents.find((c) => c.purpose === 'study_material').remaining).toBe(1);
});

test('the archive searches by title and filters by a tag, as the server finds them', async () => {
  phone.openid = 'demo-member';
  const token = await server.login('demo-member');
  const archive = openPage('pages/study/archive');
  await until(() => !archive.instance.data.loading && archive.instance.data.items.length, archive);
  const all = (await server.call('GET', '/materials?per_page=20', { token })).body;
  expect(text(archive)).toContain(`共 ${all.total} 篇`);

  input(archive, '#keyword', '遵义');
  tap(archive, '#search');
  await until(() => !archive.instance.data.loading && archive.instance.data.total !== all.total, archive);
  const found = (await server.call('GET', `/materials?q=${encodeURIComponent('遵义')}`, { token })).body;
  expect(found.total).toBeGreaterThan(0);
  expect(archive.instance.data.items.map((i) => i.id)).toEqual(found.items.map((i) => i.id));
  expect(text(archive)).toContain('遵义会议');

  input(archive, '#keyword', '');
  const tag = archive.instance.data.tags[0];
  tap(archive, '#tag-0');
  await until(() => !archive.instance.data.loading && archive.instance.data.tag === tag, archive);
  const tagged = (await server.call('GET', `/materials?tag=${encodeURIComponent(tag)}`, { token })).body;
  expect(archive.instance.data.total).toBe(tagged.total);
  expect(archive.instance.data.items.every((i) => i.tags.includes(tag))).toBe(true);
});
