// Render every page of app.json with data from the real backend (the demo seed, through the harness), write it as
// HTML and shoot it with headless Chromium into docs/screenshots/. Run by scripts/screenshots.js.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const simulate = require('miniprogram-simulate');
const server = require('../../tests/harness/server');
const { phone, backendInfo } = require('../../tests/harness/wx');
const { pageHtml } = require('./html');

const ROOT = path.resolve(__dirname, '..', '..');
const OUT = path.resolve(ROOT, '..', 'docs', 'screenshots');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const STAND_INS = Object.fromEntries(['input', 'textarea', 'image', 'switch', 'rich-text']
  .map((tag) => [tag, `/scripts/shots/components/${tag}`]));

let inflight = 0;
function countRequests() {
  const real = wx.request;
  wx.request = (opts) => {
    inflight += 1;
    if (!opts.url.startsWith(backendInfo().apiBase)) throw new Error(`request outside the harness: ${opts.url}`);
    const done = (fn) => (res) => { inflight -= 1; if (fn) fn(res); };
    real({ ...opts, success: done(opts.success), fail: done(opts.fail) });
  };
}

/** Wait until no request has been in flight for a while (the page has its data). */
async function quiet(ms = 400) {
  let calm = 0;
  while (calm < ms) {
    await new Promise((r) => setTimeout(r, 50));
    calm = inflight ? 0 : calm + 50;
  }
}

async function render(pagePath, query, after) {
  // Every page registers the stand-ins again: a fresh module registry lets their Component() calls run again.
  let id;
  jest.isolateModules(() => {
    Object.assign(require('../../config'), { BASE_URL: backendInfo().apiBase, RETRY_DELAYS_MS: [20, 40] });
    id = simulate.load(path.join(ROOT, pagePath), { rootPath: ROOT, usingComponents: { ...STAND_INS } });
  });
  const comp = simulate.render(id);
  comp.attach(document.createElement('parent-wrapper'));
  if (comp.instance.onLoad) comp.instance.onLoad(query || {});
  if (comp.instance.onShow) comp.instance.onShow();
  await quiet();
  if (after) {
    await after(comp);
    await quiet();
  }
  return comp;
}

function shoot(name, html) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bs-shot-'));
  const file = path.join(dir, `${name}.html`);
  fs.writeFileSync(file, html);
  const png = path.join(OUT, `${name}.png`);
  execFileSync(CHROMIUM, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--hide-scrollbars', '--force-device-scale-factor=1', '--virtual-time-budget=3000', '--window-size=375,812', `--screenshot=${png}`,
    `file://${file}`], { stdio: 'ignore', timeout: 60000 });
  fs.rmSync(dir, { recursive: true, force: true });
  return png;
}

function type(comp, selector, value) {
  comp.querySelector(selector).dispatchEvent('input', { detail: { value } });
}

const REFLECTION = '这本书系统梳理了分布式系统的架构演进，每一步都讲清楚了背后的权衡。结合我们部门订单系统的改造，'
  + '我体会最深的是服务拆分要以业务边界为准，不能为拆而拆。下一步我准备在班组里组织一次读书分享，把可观测性和容错设计的内容'
  + '结合线上故障复盘，整理成一份可执行的改进清单。';

/** Every page of app.json, who looks at it and with what; ids are read from the backend. */
async function plan() {
  const member = await server.login('demo-member');
  const secretary = await server.login('demo-secretary');
  const today = (await server.call('GET', '/materials/today', { token: member })).body;
  const quiz = (await server.call('GET', '/quizzes/current', { token: member })).body;
  const exchanges = (await server.call('GET', '/exchanges?status=approved&per_page=50', { token: secretary })).body.items;
  const upcoming = exchanges.filter((e) => Date.parse(e.starts_at) > Date.now())
    .sort((a, b) => Date.parse(a.starts_at) - Date.parse(b.starts_at))[0];
  const materialId = today.items && today.items[0] ? today.items[0].id : 0;
  const quizId = quiz && quiz.quiz ? quiz.quiz.id : 0;
  // The result screen shows last week's closed quiz, whose review reveals answers and explanations.
  const past = (await server.call('GET', '/me/quizzes', { token: member })).body.items.find((e) => e.answers_revealed);
  return [
    { page: 'pages/login/index', as: 'mp-shot-stranger', query: { reason: 'not_bound' } },
    { page: 'pages/study/index' },
    { page: 'pages/study/reader', query: { id: String(materialId) } },
    { page: 'pages/study/archive' },
    { page: 'pages/quiz/index' },
    { page: 'pages/quiz/take', query: { quiz_id: String(quizId) } },
    { page: 'pages/quiz/result', query: { attempt_id: past ? String(past.attempt_id) : '' } },
    { page: 'pages/quiz/history' },
    { page: 'pages/quota/index' },
    { page: 'pages/quota/checkin', query: { id: upcoming ? String(upcoming.id) : '' } },
    { page: 'pages/quota/propose', after: (c) => {
      type(c, '#title', '国产数据库迁移经验分享');
      type(c, '#place', '三楼党员活动室');
      type(c, '#summary', '结合财务系统迁移，分享兼容性问题的排查方法与性能调优经验。');
    } },
    { page: 'pages/quota/book', after: (c) => {
      type(c, '#title', '凤凰架构');
      type(c, '#author', '周志明');
      type(c, '#reflection', REFLECTION);
    } },
    { page: 'pages/quota/branch' },
    { page: 'pages/me/index' },
    { page: 'pages/me/points' },
    { page: 'pages/me/leaderboard' },
    { page: 'pages/me/inbox' },
    { page: 'pages/me/settings' },
    { page: 'pages/branch/index', as: 'demo-secretary' },
    { page: 'pages/branch/approvals', as: 'demo-secretary' },
    { page: 'pages/branch/checkin-code', as: 'demo-secretary', query: { id: upcoming ? String(upcoming.id) : '' } },
  ];
}

test('every page renders and is shot', async () => {
  fs.mkdirSync(OUT, { recursive: true });
  countRequests();
  const only = process.env.SHOTS ? process.env.SHOTS.split(',') : null;
  const app = JSON.parse(fs.readFileSync(path.join(ROOT, 'app.json'), 'utf8'));
  const shots = await plan();
  expect(shots.map((s) => s.page).sort()).toEqual([...app.pages].sort()); // every page, none forgotten
  for (const shot of shots) {
    const name = shot.page.replace(/^pages\//, '').replace(/\//g, '-');
    if (only && !only.includes(name)) continue;
    phone.openid = shot.as || 'demo-member';
    phone.storage.clear();
    const comp = await render(shot.page, shot.query, shot.after);
    if (process.env.SHOTS_DEBUG) console.log(require('./html').serialize(comp.dom).slice(0, 1500));
    const png = shoot(name, pageHtml({ root: ROOT, pagePath: shot.page, dom: comp.dom }));
    console.log(`${name}: ${path.relative(path.resolve(ROOT, '..'), png)}`);
  }
});
