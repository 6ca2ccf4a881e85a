// utils/autosave: an answer leaves the phone's storage only once the server acknowledged that very value.
const autosave = require('../../utils/autosave');
const { phone } = require('../harness/wx');

const ATTEMPT = 9001;
const stored = () => JSON.parse(phone.storage.get(`bs_answers_${ATTEMPT}`) || '{}');

/** Answer PUT /attempts/9001/answers with the given responses in turn, recording the bodies sent. */
function serverAnswers(...responses) {
  const bodies = [];
  phone.storage.set('bs_token', JSON.stringify('t'));
  phone.stubs.push((req) => {
    if (req.method !== 'PUT' || req.path !== `/attempts/${ATTEMPT}/answers`) return undefined;
    bodies.push(req.data.answers);
    return responses.length > 1 ? responses.shift() : responses[0];
  });
  return bodies;
}
const OK = { statusCode: 200, data: { ok: true } };

test('an acknowledged answer leaves storage', async () => {
  const bodies = serverAnswers(OK);
  const result = await autosave.save(ATTEMPT, 5, 'A');
  expect(result).toEqual({ ok: true, sent: 1 });
  expect(bodies).toEqual([{ 5: 'A' }]);
  expect(phone.storage.has(`bs_answers_${ATTEMPT}`)).toBe(false);
});

test('a network failure keeps every answer; the next flush sends them together', async () => {
  const bodies = serverAnswers('network', 'network', OK);
  const first = await autosave.save(ATTEMPT, 5, 'A');
  expect(first.ok).toBe(false);
  expect(first.error.status).toBe(0);
  expect(stored()).toEqual({ 5: 'A' });
  const second = await autosave.save(ATTEMPT, 6, ['A', 'C']);
  expect(second).toEqual({ ok: true, sent: 2 });
  expect(bodies[bodies.length - 1]).toEqual({ 5: 'A', 6: ['A', 'C'] });
  expect(stored()).toEqual({});
});

test('an answer changed while its save is in flight stays queued and is sent next', async () => {
  const bodies = serverAnswers(OK);
  let changed = false;
  phone.stubs.unshift(() => {
    if (!changed) {
      changed = true;
      autosave.remember(ATTEMPT, 5, 'B'); // the member changes the answer while the server is saving 'A'
    }
    return undefined;
  });
  await autosave.save(ATTEMPT, 5, 'A');
  expect(bodies).toEqual([{ 5: 'A' }]);
  expect(stored()).toEqual({ 5: 'B' });
  await autosave.flush(ATTEMPT);
  expect(bodies).toEqual([{ 5: 'A' }, { 5: 'B' }]);
  expect(stored()).toEqual({});
});

test('concurrent flushes of one attempt run one after the other', async () => {
  const bodies = serverAnswers(OK);
  autosave.remember(ATTEMPT, 1, 'A');
  const a = autosave.flush(ATTEMPT);
  autosave.remember(ATTEMPT, 2, 'T');
  const b = autosave.flush(ATTEMPT);
  await Promise.all([a, b]);
  expect(bodies).toEqual([{ 1: 'A', 2: 'T' }]); // the second found nothing left to send
  expect(stored()).toEqual({});
});

test('a 409 is final: the queue is cleared and the caller is told', async () => {
  serverAnswers({ statusCode: 409, data: { code: 'attempt_expired', message: '作答时间已到，已按保存的答案评分' } });
  const result = await autosave.save(ATTEMPT, 5, 'A');
  expect(result.ok).toBe(false);
  expect(result.final).toBe(true);
  expect(result.error.code).toBe('attempt_expired');
  expect(stored()).toEqual({});
});

test('resume shows the server answers overridden by those still on the phone', () => {
  autosave.remember(ATTEMPT, 6, 'C');
  expect(autosave.merged(ATTEMPT, { 5: 'A', 6: 'B' })).toEqual({ 5: 'A', 6: 'C' });
  autosave.clear(ATTEMPT);
  expect(autosave.pending(ATTEMPT)).toEqual({});
});
