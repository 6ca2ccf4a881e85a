// Error paths, with stubbed responses where the real server cannot be made to answer them on demand: 401 and the
// silent re-login, network failures (retried, then shown; during autosave and submit nothing is lost), and each 409
// the quiz and reading endpoints answer. The server's own Chinese message is what the member reads.
const server = require('../harness/server');
const { phone } = require('../harness/wx');
const { openPage, until, untilText, tap, text } = require('../harness/page');

const conflict = (code, message) => ({ statusCode: 409, data: { code, message, details: {} } });
/** A stub answering the first matching request only. */
function once(match, answer) {
  let used = false;
  return (req) => {
    if (used || !match(req)) return undefined;
    used = true;
    return answer;
  };
}
const is = (method, pattern) => (req) => req.method === method && pattern.test(req.path);
const calls = () => phone.requests.map((r) => `${r.method} ${r.url.replace(/^.*\/api\/v1/, '')} ${r.statusCode}`);

let phones;
let quizPhones;
beforeAll(async () => {
  quizPhones = await server.unboundPhones(3, { quizPending: true });
  phones = (await server.unboundPhones(3)).filter((p) => !quizPhones.includes(p));
});

async function member(openid, index) {
  const token = await server.login(openid, phones[index]);
  phone.openid = openid;
  phone.storage.set('bs_token', JSON.stringify(token));
  return token;
}

describe('401 and the silent re-login', () => {
  test('a revoked token logs in again without the member noticing', async () => {
    const token = await member('mp-err-revoked', 0);
    expect((await server.call('POST', '/auth/logout', { token })).status).toBe(200);

    const page = openPage('pages/quiz/index');
    await until(() => page.instance.data.view, page);
    expect(calls()).toEqual(['GET /quizzes/current 401', 'POST /auth/wechat 200', 'GET /quizzes/current 200']);
    expect(JSON.parse(phone.storage.get('bs_token'))).not.toBe(token);
    expect(phone.toasts).toEqual([]);
    expect(phone.navigations).toEqual([]);
    expect(page.querySelector('#error')).toBeFalsy();
  });

  test('a stubbed 401 re-logs in once and retries once; a second 401 is shown, not looped', async () => {
    await member('mp-err-401', 1);
    phone.stubs.push(once(is('GET', /^\/materials\/today/),
      { statusCode: 401, data: { code: 'token_expired', message: '登录已过期，请重新登录' } }));
    const page = openPage('pages/study/index');
    await until(() => page.instance.data.view, page);
    expect(calls()).toEqual(['GET /materials/today 401', 'POST /auth/wechat 200', 'GET /materials/today 200']);

    phone.requests = [];
    phone.stubs = [(req) => (is('GET', /^\/materials\/today/)(req)
      ? { statusCode: 401, data: { code: 'token_invalid', message: '登录凭证无效，请重新登录' } } : undefined)];
    page.instance.load();
    await until(() => page.instance.data.error, page);
    expect(calls()).toEqual(['GET /materials/today 401', 'POST /auth/wechat 200', 'GET /materials/today 401']);
    expect(text(page)).toContain('登录凭证无效，请重新登录');
  });

  test('when the silent login finds no binding, the member is sent to the login page', async () => {
    phone.openid = 'mp-err-never-bound';
    phone.storage.set('bs_token', JSON.stringify('a-stale-token'));
    const page = openPage('pages/study/index');
    await until(() => phone.navigations.length, page);
    expect(phone.navigations).toEqual([{ how: 'reLaunch', url: '/pages/login/index?reason=not_bound' }]);
    expect(phone.storage.has('bs_token')).toBe(false);
  });
});

describe('network failures', () => {
  test('a request that fails to reach the server is retried', async () => {
    await member('mp-err-net', 2);
    phone.stubs.push(once(is('GET', /^\/quizzes\/current/), 'network'));
    const page = openPage('pages/quiz/index');
    await until(() => page.instance.data.view, page);
    expect(calls()).toEqual(['GET /quizzes/current 0', 'GET /quizzes/current 200']);
  });

  test('a network that stays down shows the Chinese message and a retry', async () => {
    await member('mp-err-net', 2);
    phone.network.down = true;
    const page = openPage('pages/study/index');
    await until(() => page.instance.data.error, page);
    expect(text(page)).toContain('网络连接失败，请检查网络后重试');
    expect(calls()).toEqual(['GET /materials/today 0', 'GET /materials/today 0', 'GET /materials/today 0']);
    phone.network.down = false;
    tap(page, '#error .link');
    await until(() => page.instance.data.view && !page.instance.data.error, page);
  });
});

describe('the quiz while the network fails and the server refuses', () => {
  let token;
  let quizId;
  let take;
  beforeAll(async () => {
    token = await server.login('mp-err-quiz', quizPhones[0]);
    quizId = (await server.call('GET', '/quizzes/current', { token })).body.quiz.id;
  });

  async function openTake() {
    phone.openid = 'mp-err-quiz';
    phone.storage.set('bs_token', JSON.stringify(token));
    take = openPage('pages/quiz/take', { quiz_id: String(quizId) });
    await until(() => take.instance.data.attemptId && !take.instance.data.loading, take);
    return take;
  }
  afterEach(() => take && take.instance.onUnload());
  const saved = async (id) => (await server.call('GET', `/attempts/${id}`, { token })).body.answers;

  test('an autosave that cannot reach the server keeps the answer and sends it with the next one', async () => {
    await openTake();
    const { attemptId, source } = take.instance.data;
    const [a, b] = source.filter((q) => q.kind === 'single' || q.kind === 'judge');
    phone.stubs.push((req) => (is('PUT', /^\/attempts\/\d+\/answers/)(req) ? 'network' : undefined));
    tap(take, `#q-${a.id}-A`);
    await untilText(take, '1 题未同步，网络恢复后自动保存');
    expect(JSON.parse(phone.storage.get(`bs_answers_${attemptId}`))).toEqual({ [a.id]: a.options[0].key });
    expect((await saved(attemptId))[String(a.id)]).toBeUndefined();

    phone.stubs = [];
    tap(take, `#q-${b.id}-B`);
    await until(() => take.instance.data.sync === 'saved', take);
    const answers = await saved(attemptId);
    expect(answers[String(a.id)]).toBe(a.options[0].key);
    expect(answers[String(b.id)]).toBe(b.options[1].key);
    expect(phone.storage.has(`bs_answers_${attemptId}`)).toBe(false);
  });

  test('a submit that cannot reach the server keeps the attempt open and the answers on the phone', async () => {
    await openTake();
    const { attemptId, source } = take.instance.data;
    phone.network.down = true;
    const q = source.find((x) => x.kind === 'single');
    tap(take, `#q-${q.id}-C`);
    tap(take, '#submit');
    await until(() => phone.toasts.length, take);
    expect(phone.toasts[0]).toContain('答案已保存在手机上');
    expect(phone.navigations).toEqual([]);
    expect(JSON.parse(phone.storage.get(`bs_answers_${attemptId}`))[String(q.id)]).toBe(q.options[2].key);
    expect((await server.call('GET', `/attempts/${attemptId}`, { token })).body.status).toBe('in_progress');
  });

  test.each([
    ['quiz_not_open', '测验尚未开始，2026年12月7日 00:00 开始'],
    ['quiz_closed', '测验已结束'],
    ['no_attempts_left', '作答次数已用完'],
  ])('starting answers 409 %s: the page shows the server message', async (code, message) => {
    phone.stubs.push(once(is('POST', /^\/quizzes\/\d+\/attempts/), conflict(code, message)));
    phone.openid = 'mp-err-quiz';
    take = openPage('pages/quiz/take', { quiz_id: String(quizId) });
    await until(() => take.instance.data.error, take);
    expect(take.querySelector('#error').dom.textContent).toContain(message);
    expect(take.querySelector('#retry')).toBeFalsy();
    expect(take.querySelector('#submit')).toBeFalsy();
  });

  test.each([
    ['attempt_expired', '作答时间已到，已按保存的答案评分'],
    ['attempt_submitted', '本次作答已提交'],
    ['quiz_closed', '测验已结束'],
  ])('an autosave answered 409 %s shows why, clears the queue and opens the result', async (code, message) => {
    await openTake();
    const { attemptId, source } = take.instance.data;
    phone.stubs.push(once(is('PUT', /^\/attempts\/\d+\/answers/), conflict(code, message)));
    // Any question with options: the attempt's shuffle may put a fill-in question first.
    tap(take, `#q-${source.find((x) => x.kind !== 'blank').id}-A`);
    await until(() => phone.navigations.length, take);
    expect(phone.toasts).toEqual([message]);
    expect(phone.navigations).toEqual([{ how: 'redirectTo', url: `/pages/quiz/result?attempt_id=${attemptId}` }]);
    expect(phone.storage.has(`bs_answers_${attemptId}`)).toBe(false);
  });

  test('a submit answered 409 attempt_expired opens the result the server graded', async () => {
    await openTake();
    const { attemptId } = take.instance.data;
    phone.stubs.push(once(is('POST', /^\/attempts\/\d+\/submit/),
      conflict('attempt_expired', '作答时间已到，已按保存的答案评分')));
    tap(take, '#submit');
    await until(() => phone.navigations.length, take);
    expect(phone.modals[0].content).toMatch(/还有 \d+ 题未作答/);
    expect(phone.toasts).toEqual(['作答时间已到，已按保存的答案评分']);
    expect(phone.navigations).toEqual([{ how: 'redirectTo', url: `/pages/quiz/result?attempt_id=${attemptId}` }]);
  });
  test('when the countdown reaches zero the page submits by itself, without asking, and the server grades', async () => {
    const real = await openTake();
    const { attemptId, source } = real.instance.data;
    real.instance.onUnload();
    const attempt = (await server.call('GET', `/attempts/${attemptId}`, { token })).body;
    // The server's clock says one second is left (a stubbed start; everything after it is real).
    phone.stubs.push(once(is('POST', /^\/quizzes\/\d+\/attempts/), { statusCode: 200, data: { ...attempt, seconds_left: 1 } }));
    await openTake();
    const q = source.find((x) => x.kind === 'judge');
    tap(take, `#q-${q.id}-A`);
    await until(() => phone.navigations.length, take, 6000);
    expect(phone.modals).toEqual([]);
    expect(phone.navigations).toEqual([{ how: 'redirectTo', url: `/pages/quiz/result?attempt_id=${attemptId}&submitted=1` }]);
    const after = (await server.call('GET', `/attempts/${attemptId}`, { token })).body;
    expect(after.status).toBe('submitted');
    expect(after.answers[String(q.id)]).toBe(q.options[0].key);
  });
});

describe('the reader when the server refuses', () => {
  let materialId;
  beforeAll(async () => {
    await server.login('mp-err-reader', phones[4]);
    materialId = (await server.publishToday(3, { title: '党章学习：党员的义务' })).id;
  });

  test('a finish answered 409 reading_not_started reports the open again and says so', async () => {
    phone.openid = 'mp-err-reader';
    const reader = openPage('pages/study/reader', { id: String(materialId) });
    await untilText(reader, '完成学习');
    await until(() => phone.requests.some((r) => r.url.endsWith(`/materials/${materialId}/reads`)), reader);
    phone.stubs.push(once(is('POST', /\/reads\/finish$/), conflict('reading_not_started', '请先打开学习内容')));
    tap(reader, '#finish');
    await untilText(reader, '已重新开始计时');
    expect(calls().filter((c) => c.startsWith(`POST /materials/${materialId}/reads `))).toHaveLength(2);
    reader.instance.onUnload();
  });

  test('an open answered 409 material_not_open shows the server message', async () => {
    phone.openid = 'mp-err-reader';
    phone.stubs.push(once(is('POST', /\/reads$/), conflict('material_not_open', '该学习内容尚未发布或已撤回')));
    const reader = openPage('pages/study/reader', { id: String(materialId) });
    await until(() => reader.instance.data.error, reader);
    expect(reader.querySelector('#error').dom.textContent).toContain('该学习内容尚未发布或已撤回');
  });
});
