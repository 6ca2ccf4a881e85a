// One-time subscribe consents (订阅消息): each 允许 lets the backend push one message of that template. Asked from
// a tap (WeChat requires a user gesture), at most 3 templates a call, and every result is reported to the backend.
// A page that offers one after what a message would follow up keeps the offer as a card in its data.consent.
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

/**
 * Offer a purpose's messages on a page: its card {ids, label, when, done: false, message: ''} in data.consent, or
 * nothing when this deployment has no template for it or the template list could not be read. Never rejects.
 */
async function offer(page, purpose) {
  try {
    const ids = await templateIds([purpose]);
    if (ids.length) page.setData({ consent: { ids, ...describe(purpose), done: false, message: '' } });
  } catch (err) {
    // Without the template list there is simply nothing to offer.
  }
}

/**
 * The tap on a page's offered card (call from the tap itself): ask, report, and mark the card done with its
 * message, granted(card, consent) when the backend now holds a consent with sends remaining, else refused; a
 * failure is shown as a toast and the card stays offered. Never rejects.
 * @param {{data: Record<string, any>, setData: (data: Record<string, any>) => void}} page
 * @param {(card: {when: string}, consent: {remaining: number}) => string} granted
 * @param {string} refused
 */
async function answer(page, granted, refused) {
  const card = page.data.consent;
  if (!card || card.done) return;
  try {
    const consents = await ask(card.ids);
    const mine = (consents || []).find((c) => card.ids.includes(c.template_id));
    page.setData({ consent: { ...card, done: true, message: mine && mine.remaining ? granted(card, mine) : refused } });
  } catch (err) {
    api.showError(err);
  }
}

module.exports = { describe, resultsOf, requestId, templateIds, ask, offer, answer, MAX_PER_CALL };
