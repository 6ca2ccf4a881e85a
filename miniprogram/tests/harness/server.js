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

/** The phones of a demo branch's members who have not bound a WeChat yet (asked as the demo admin). */
async function unboundPhones(branchId = 1) {
  const token = await login('demo-admin');
  const res = await call('GET', `/branches/${branchId}/members?per_page=100`, { token });
  return res.body.items.filter((m) => !m.bound && m.active).map((m) => m.phone);
}

/** Messages the fake WeChat has received (subscribe messages sent by the backend). */
async function fakeMessages() {
  return (await call('GET', '/_fake/messages', { base: backendInfo().fakeBase })).body;
}

module.exports = { call, login, unboundPhones, fakeMessages };
