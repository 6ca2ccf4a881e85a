// Quiz answers live on the phone until the server has them: every answer is written to wx storage first, then
// sent with PUT /attempts/{id}/answers; an entry leaves storage only when the server acknowledged that very value.
// A flaky network loses nothing: the queue is flushed again on the next answer, on resume and before submit.
const api = require('./api');

const PREFIX = 'bs_answers_';
const inflight = {}; // attempt id -> the running flush, so two flushes of one attempt never race

function key(attemptId) {
  return PREFIX + attemptId;
}

/** The answers of an attempt not yet acknowledged by the server: {questionId: value}. */
function pending(attemptId) {
  return wx.getStorageSync(key(attemptId)) || {};
}

function store(attemptId, answers) {
  if (Object.keys(answers).length) wx.setStorageSync(key(attemptId), answers);
  else wx.removeStorageSync(key(attemptId));
}

/** Keep one answer on the phone (null clears it on the server too). */
function remember(attemptId, questionId, value) {
  const answers = pending(attemptId);
  answers[String(questionId)] = value === undefined ? null : value;
  store(attemptId, answers);
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

async function sendPending(attemptId) {
  const sent = pending(attemptId);
  if (!Object.keys(sent).length) return { ok: true, sent: 0 };
  await api.put(`/attempts/${attemptId}/answers`, { answers: sent }, { retries: 1 });
  // Drop only what the server now holds; an answer changed meanwhile stays queued.
  const left = pending(attemptId);
  Object.keys(sent).forEach((qid) => {
    if (qid in left && same(left[qid], sent[qid])) delete left[qid];
  });
  store(attemptId, left);
  return { ok: true, sent: Object.keys(sent).length };
}

/**
 * Send what is queued. Resolves {ok: true, sent} or {ok: false, error} (the answers stay queued); an attempt the
 * server will never take again (expired, closed, submitted) resolves {ok: false, final: true} and clears the queue.
 */
function flush(attemptId) {
  const previous = inflight[attemptId] || Promise.resolve();
  const run = previous.then(() => sendPending(attemptId)).catch((error) => {
    if (error.status === 409 || error.status === 404) {
      store(attemptId, {});
      return { ok: false, final: true, error };
    }
    return { ok: false, error };
  });
  inflight[attemptId] = run;
  run.then(() => { if (inflight[attemptId] === run) delete inflight[attemptId]; });
  return run;
}

/** Keep an answer and send the queue. */
function save(attemptId, questionId, value) {
  remember(attemptId, questionId, value);
  return flush(attemptId);
}

/** The answers to show on resume: the server's saved ones, overridden by those still queued on this phone. */
function merged(attemptId, serverAnswers) {
  return { ...(serverAnswers || {}), ...pending(attemptId) };
}

/** Forget an attempt's queue (after the submit was acknowledged). */
function clear(attemptId) {
  store(attemptId, {});
}

module.exports = { pending, remember, flush, save, merged, clear };
