// One-time subscribe consents (订阅消息): each 允许 lets the backend push one message of that template. Asked from
// a tap (WeChat requires a user gesture), at most 3 templates a call, and every result is reported to the backend.
const api = require('./api');

const MAX_PER_CALL = 3;
const RESULTS = ['accept', 'reject', 'ban', 'filter'];

// What each template tells the member, in the member's words (purpose → label and when it arrives).
const PURPOSES = {
  study_material: { label: '每日学习提醒', when: '每天 8:00 有新的学习内容时' },
  quiz_open: { label: '每周一测开放通知', when: '本周测验开放时；截止时间调整时' },
  quiz_reminder: { label: '测验截止提醒', when: '测验快截止而您还没有提交时；书记提醒时' },
  quiz_result: { label: '测验成绩通知', when: '测验结束、成绩公布时' },
  task_reminder: { label: '1+4+1 与书记提醒', when: '1+4+1 进度落后、支部公示、书记一键提醒时' },
};

/** The label and moment of a template purpose ({label, when}); unknown purposes keep their own name. */
function describe(purpose) {
  return PURPOSES[purpose] || { label: purpose, when: '' };
}

/** The report body items for one wx.requestSubscribeMessage answer: only the asked ids with a known result. */
function resultsOf(templateIds, answer) {
  return templateIds
    .filter((id) => answer && RESULTS.includes(answer[id]))
    .map((id) => ({ template_id: id, result: answer[id] }));
}

/** A request id unique to one call, so a retried report counts once on the backend. */
function requestId() {
  return `sub-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

function requestSubscribe(tmplIds) {
  return new Promise((resolve) => {
    wx.requestSubscribeMessage({
      tmplIds,
      success: (res) => resolve(res),
      fail: () => resolve({}), // closed or refused by WeChat itself: nothing to report
    });
  });
}

/** The configured template ids for purposes, from the backend (it knows the real ids of this deployment). */
async function templateIds(purposes) {
  const consents = await api.get('/me/subscriptions');
  return consents.filter((c) => purposes.includes(c.purpose) && !c.banned).map((c) => c.template_id);
}

/**
 * Ask for consents (call from a tap handler) and report the answer; resolves with the backend's consent list,
 * or null when nothing was asked or answered.
 */
async function ask(ids) {
  const tmplIds = ids.slice(0, MAX_PER_CALL);
  if (!tmplIds.length) return null;
  const results = resultsOf(tmplIds, await requestSubscribe(tmplIds));
  if (!results.length) return null;
  return api.post('/me/subscriptions', { request_id: requestId(), results });
}

module.exports = { describe, resultsOf, requestId, templateIds, ask, MAX_PER_CALL };
