// Ask the backend directly (not through the phone) what it holds, to assert a flow's outcome; and prepare data.
const http = require('node:http');
const { backendInfo } = require('./wx');

function call(method, path, { token, body, base } = {}) {
  const url = new URL((base || backendInfo().apiBase) + path);
  const data = body === undefined ? undefined : JSON.stringify(body);
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (data) headers['Content-Length'] = Buffer.byteLength(data);
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname: url.hostname, port: url.port, path: url.pathname + url.search, method,
      headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed = text;
        try { parsed = JSON.parse(text); } catch (e) { /* keep text */ }
        resolve({ status: res.statusCode, body: parsed });
      });
    });
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

/** Log in as a bound openid (or bind it with phone) and return the token. */
async function login(openid, phone) {
  const body = phone ? { code: `dev:${openid}`, phone_code: `dev-phone:${phone}` } : { code: `dev:${openid}` };
  const res = await call('POST', '/auth/wechat', { body });
  if (res.status !== 200) throw new Error(`login ${openid}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.token;
}

/**
 * The phones of a demo branch's members who have not bound a WeChat yet (asked as the demo admin); with
 * quizPending, only those who have not submitted this week's quiz (the demo has most of them take it).
 */
async function unboundPhones(branchId = 1, { quizPending = false } = {}) {
  const token = await login('demo-admin');
  const res = await call('GET', `/branches/${branchId}/members?per_page=100`, { token });
  let members = res.body.items.filter((m) => !m.bound && m.active);
  if (quizPending) {
    // The branch's quiz this week, as one of its members sees it (managers are not in a quiz's audience).
    const lookout = `lookout-${branchId}`;
    const known = await call('POST', '/auth/wechat', { body: { code: `dev:${lookout}` } });
    const memberToken = known.status === 200 ? known.body.token : await login(lookout, members.pop().phone);
    const quiz = (await call('GET', '/quizzes/current', { token: memberToken })).body.quiz;
    const pending = await call('GET', `/quizzes/${quiz.id}/pending?branch_id=${branchId}&per_page=100`, { token });
    const ids = new Set(pending.body.items.map((m) => m.id));
    members = members.filter((m) => ids.has(m.id));
  }
  return members.map((m) => m.phone);
}

/** Publish a study item for today to one branch (as the demo admin); returns it. */
async function publishToday(branchId, fields = {}) {
  const token = await login('demo-admin');
  const day = (await call('GET', '/materials/today', { token })).body.day;
  const res = await call('POST', '/materials', { token, body: {
    title: '学习贯彻党的二十届四中全会精神', source: '人民网', url: 'https://www.12371.cn/', day, publish: true,
    body: '## 学习要点\n\n- 深刻领会精神实质，把握核心要义', estimated_minutes: 1, tags: ['全会精神'],
    audience: { branch_ids: [branchId] }, ...fields,
  } });
  if (res.status !== 201) throw new Error(`publish: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Messages the fake WeChat has received (subscribe messages sent by the backend). */
async function fakeMessages() {
  return (await call('GET', '/_fake/messages', { base: backendInfo().fakeBase })).body;
}

module.exports = { call, login, unboundPhones, publishToday, fakeMessages };
