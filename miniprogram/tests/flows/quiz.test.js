// A member takes this week's quiz end to end against the real backend: start, autosave, lose the connection,
// resume (on this phone and on another), submit with a confirmation, result; then a closed quiz's review.
const server = require('../harness/server');
const { phone } = require('../harness/wx');
const { openPage, until, untilText, tap, input, fire, text } = require('../harness/page');

const OPENID = 'mp-quiz-taker';
let token;

beforeAll(async () => {
  const phones = await server.unboundPhones(2, { quizPending: true });
  token = await server.login(OPENID, phones[0]);
});

async function takePage(quizId) {
  const page = openPage('pages/quiz/take', { quiz_id: String(quizId) });
  await until(() => page.instance.data.attemptId && !page.instance.data.loading, page);
  return page;
}

const saved = async (attemptId) => (await server.call('GET', `/attempts/${attemptId}`, { token })).body.answers;

test('start, autosave, offline, resume, submit and see the result', async () => {
  phone.openid = OPENID;
  const index = openPage('pages/quiz/index');
  await untilText(index, '开始答题');
  const quizId = index.instance.data.view.quiz.id;
  expect(text(index)).toContain('限时 15 分钟');
  tap(index, '#start');
  await until(() => phone.navigations.length, index);
  expect(phone.navigations[0].url).toBe(`/pages/quiz/take?quiz_id=${quizId}`);

  const take = await takePage(quizId);
  const { attemptId, source } = take.instance.data;
  expect(text(take)).toMatch(/⏱ 1[45]:\d\d/);
  expect(text(take)).toContain('已答 0/10');

  // Options are labelled A, B, C… in the order shown; the stored key goes to the server.
  const choice = source.filter((q) => q.kind === 'single');
  const [first, second, third] = choice;
  const shownA = first.options[0];
  expect(take.querySelector(`#q-${first.id}-A`).dom.textContent).toContain(shownA.text);
  tap(take, `#q-${first.id}-A`);
  tap(take, `#q-${second.id}-B`);
  const blank = source.find((q) => q.kind === 'blank');
  input(take, `#q-${blank.id}-blank-0`, '中央委员会');
  fire(take, `#q-${blank.id}-blank-0`, 'blur', { value: '中央委员会' });
  await until(() => take.instance.data.sync === 'saved' && take.instance.data.answeredCount === 3, take);
  let answers = await saved(attemptId);
  expect(answers[String(first.id)]).toBe(shownA.key);
  expect(answers[String(second.id)]).toBe(second.options[1].key);
  expect(answers[String(blank.id)][0]).toBe('中央委员会');
  expect(text(take)).toContain('已保存');

  // The connection drops: the answer stays on the phone and the page says so.
  phone.network.down = true;
  tap(take, `#q-${third.id}-C`);
  await untilText(take, '1 题未同步');
  expect(JSON.parse(phone.storage.get(`bs_answers_${attemptId}`))).toEqual({ [third.id]: third.options[2].key });
  expect((await saved(attemptId))[String(third.id)]).toBeUndefined();
  take.instance.onUnload(); // the member leaves while offline

  // Back online, the quiz is resumed on this phone: the queued answer is shown and reaches the server.
  phone.network.down = false;
  phone.navigations = [];
  const resumed = await takePage(quizId);
  expect(resumed.instance.data.attemptId).toBe(attemptId);
  await until(() => resumed.instance.data.sync === 'saved', resumed);
  expect(resumed.querySelector(`#q-${third.id}-C`).dom.className).toContain('selected');
  expect((await saved(attemptId))[String(third.id)]).toBe(third.options[2].key);
  expect(phone.storage.has(`bs_answers_${attemptId}`)).toBe(false);
  resumed.instance.onUnload();

  // On another phone (nothing stored), the resume shows what the server saved.
  phone.storage.clear();
  const other = await takePage(quizId);
  expect(text(other)).toContain('已答 4/10');
  expect(other.querySelector(`#q-${first.id}-A`).dom.className).toContain('selected');
  expect(other.instance.data.questions.find((q) => q.id === blank.id).blanks[0].value).toBe('中央委员会');

  // A push opening the result before the member submitted offers to go on.
  const pushed = openPage('pages/quiz/result', { id: String(quizId) });
  await untilText(pushed, '本次测验您还没有提交');
  tap(pushed, '#resume');
  await until(() => phone.navigations.length, pushed);
  expect(phone.navigations).toEqual([{ how: 'redirectTo', url: `/pages/quiz/take?quiz_id=${quizId}` }]);
  phone.navigations = [];

  // Submit: the confirmation counts the unanswered questions; then the result page.
  tap(other, '#submit');
  await until(() => phone.navigations.length, other);
  expect(phone.modals[0].content).toContain('还有 6 题未作答');
  expect(phone.navigations).toEqual([{ how: 'redirectTo', url: `/pages/quiz/result?attempt_id=${attemptId}&submitted=1` }]);
  // The submit carried the whole sheet, null for each question left unanswered; what was graded is what was shown.
  const submit = phone.requests.find((r) => r.method === 'POST' && /\/submit$/.test(r.url));
  expect(Object.keys(submit.data.answers).sort()).toEqual(source.map((q) => String(q.id)).sort());
  expect(Object.values(submit.data.answers).filter((v) => v === null)).toHaveLength(6);
  const attempt = (await server.call('GET', `/attempts/${attemptId}`, { token })).body;
  expect(attempt.status).toBe('submitted');
  expect(Object.keys(attempt.answers).sort()).toEqual([first.id, second.id, third.id, blank.id].map(String).sort());
  expect((await server.call('GET', '/quizzes/current', { token })).body.state).toBe('submitted');

  const result = openPage('pages/quiz/result', { attempt_id: String(attemptId), submitted: '1' });
  await untilText(result, '分');
  expect(result.querySelector('#score').dom.textContent).toContain(`${attempt.result.score}`);
  expect(text(result)).toContain(`答对 ${attempt.result.correct_count}/10 题`);
  expect(text(result)).toContain('后可在此查看答案与解析'); // still open: nothing revealed
  expect(result.querySelector('#review-' + first.id)).toBeFalsy();

  // After submitting, one tap asks for the result notice; the consent is reported.
  await until(() => result.querySelector('#subscribe'), result);
  tap(result, '#subscribe');
  await until(() => result.querySelector('#consent-result'), result);
  expect(phone.subscribeCalls).toEqual([['tmpl-quiz-result']]);
  const consents = (await server.call('GET', '/me/subscriptions', { token })).body;
  expect(consents.find((c) => c.purpose === 'quiz_result').remaining).toBe(1);

  // The tab now shows the submitted quiz with its score.
  const after = openPage('pages/quiz/index');
  await untilText(after, '查看成绩');
  expect(after.querySelector('#result').dom.textContent).toContain(String(attempt.result.score));
});

test('a closed quiz that reveals answers shows the review with answers and explanations', async () => {
  phone.openid = 'demo-member';
  const history = openPage('pages/quiz/history');
  await until(() => history.instance.data.items.length, history);
  const entry = history.instance.data.items.find((i) => i.review);
  expect(text(history)).toContain(entry.title);
  expect(text(history)).toContain('可查看解析');

  const result = openPage('pages/quiz/result', { id: String(entry.quizId) }); // as a push opens it
  await untilText(result, '答案与解析');
  const attempt = (await server.call('GET', `/attempts/${entry.attemptId}`,
    { token: await server.login('demo-member') })).body;
  const q = attempt.questions.find((x) => x.kind === 'single');
  const review = result.querySelector(`#review-${q.id}`).dom.textContent;
  const letter = String.fromCharCode(65 + q.options.findIndex((o) => o.key === q.answer));
  expect(review).toContain(`正确答案：${letter}`);
  expect(review).toContain(q.explanation);
  expect(text(result)).toContain(`${attempt.result.score}`);
});

test('a push link with ?id= shows that quiz; an id the server refuses shows its message and this week\'s quiz', async () => {
  phone.openid = 'demo-member';
  const memberToken = await server.login('demo-member');
  const past = (await server.call('GET', '/me/quizzes', { token: memberToken })).body.items.find((e) => e.result);
  const week = (await server.call('GET', '/quizzes/current', { token: memberToken })).body;
  expect(past.quiz.id).not.toBe(week.quiz.id);

  // A result notice for last week's quiz opens the tab on that quiz, with the member's score from the server.
  const pushed = openPage('pages/quiz/index', { id: String(past.quiz.id) });
  await untilText(pushed, '查看成绩');
  const mine = (await server.call('GET', `/me/quizzes/${past.quiz.id}`, { token: memberToken })).body;
  expect(mine.quiz.id).toBe(past.quiz.id);
  expect(pushed.instance.data.view.quiz.id).toBe(past.quiz.id);
  expect(text(pushed)).toContain(past.quiz.title);
  expect(pushed.querySelector('#result').dom.textContent).toContain(String(mine.result.score));
  expect(pushed.querySelector('#notice')).toBeFalsy();
  tap(pushed, '#show-result');
  await until(() => phone.navigations.length, pushed);
  expect(phone.navigations.pop().url).toBe(`/pages/quiz/result?id=${past.quiz.id}`);

  // A quiz that is not theirs (or no longer exists): the server's 404 message, then this week's quiz.
  const missing = await server.call('GET', '/me/quizzes/999999', { token: memberToken });
  expect(missing.status).toBe(404);
  const wrong = openPage('pages/quiz/index', { id: '999999' });
  await until(() => wrong.instance.data.view, wrong);
  expect(wrong.querySelector('#notice').dom.textContent).toContain(missing.body.message);
  expect(missing.body.message).toBe('测验不存在');
  expect(wrong.instance.data.view.quiz.id).toBe(week.quiz.id);
  expect(text(wrong)).toContain(week.quiz.title);
});
