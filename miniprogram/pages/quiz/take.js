// 答题: start or resume this member's attempt, count down from the server's seconds_left, autosave every answer
// (kept on the phone until the server has it), and submit after a confirmation that counts unanswered questions.
const api = require('../../utils/api');
const autosave = require('../../utils/autosave');
const format = require('../../utils/format');

const RETRY_MS = 5000;
const timers = {}; // attempt id -> {tick, retry}: a page instance keeps no fields of its own

function stopTimers(attemptId) {
  const t = timers[attemptId];
  if (!t) return;
  clearInterval(t.tick);
  clearTimeout(t.retry);
  delete timers[attemptId];
}

function isAnswered(kind, value) {
  if (value === null || value === undefined) return false;
  if (kind === 'multiple') return Array.isArray(value) && value.length > 0;
  if (kind === 'blank') return Array.isArray(value) && value.some((v) => String(v).trim());
  return value !== '';
}

/** One question as the WXML shows it: options labelled A, B, C… in the order the server sent them. */
function presentQuestion(question, index, value) {
  const chosen = question.kind === 'multiple' ? (value || []) : [value];
  const blanks = question.kind === 'blank' ? Array.from({ length: question.blanks || 1 }, (_, i) => ({
    index: i, value: (value && value[i]) || '' })) : [];
  return {
    id: question.id,
    number: index + 1,
    kind: question.kind,
    kindLabel: question.kind_label,
    stem: question.stem,
    points: question.points,
    options: question.options.map((option, i) => ({
      key: option.key, letter: format.optionLetter(i), text: option.text, selected: chosen.includes(option.key),
    })),
    blanks,
    answered: isAnswered(question.kind, value),
  };
}

Component({
  data: {
    quizId: 0,
    attemptId: 0,
    loading: true,
    error: '',
    retryable: false,
    source: [], // the attempt's questions as the server sent them
    answers: {}, // question id -> this member's answer
    questions: [],
    answeredCount: 0,
    timeLeft: '',
    urgent: false,
    sync: 'saved', // saved | saving | offline
    unsynced: 0,
    submitting: false,
  },
  methods: {
    onLoad(query) {
      this.setData({ quizId: Number(query.quiz_id) });
      this.start();
    },

    onUnload() {
      stopTimers(this.data.attemptId);
    },

    async start() {
      this.setData({ loading: true, error: '' });
      try {
        const attempt = await api.post(`/quizzes/${this.data.quizId}/attempts`);
        if (attempt.status !== 'in_progress') {
          this.openResult(attempt.id);
          return;
        }
        const answers = autosave.merged(attempt.id, attempt.answers);
        this.setData({
          loading: false,
          attemptId: attempt.id,
          source: attempt.questions,
          answers,
          questions: attempt.questions.map((q, i) => presentQuestion(q, i, answers[String(q.id)])),
        });
        this.countAnswered();
        this.startCountdown(attempt.seconds_left);
        if (Object.keys(autosave.pending(attempt.id)).length) this.flush();
      } catch (err) {
        this.setData({ loading: false, error: err.message, retryable: err.status === 0 });
      }
    },

    startCountdown(secondsLeft) {
      stopTimers(this.data.attemptId);
      const deadline = Date.now() + secondsLeft * 1000;
      const tick = () => {
        const left = Math.round((deadline - Date.now()) / 1000);
        this.setData({ timeLeft: format.countdown(left), urgent: left <= 60 });
        if (left <= 0) {
          stopTimers(this.data.attemptId);
          this.submitNow(true);
        }
      };
      timers[this.data.attemptId] = { tick: setInterval(tick, 1000), retry: null };
      tick();
    },

    countAnswered() {
      this.setData({ answeredCount: this.data.questions.filter((q) => q.answered).length });
    },

    setAnswer(index, value) {
      const question = this.data.source[index];
      const answers = { ...this.data.answers, [String(question.id)]: value };
      this.setData({ answers, [`questions[${index}]`]: presentQuestion(question, index, value) });
      this.countAnswered();
    },

    choose(e) {
      const { index, key } = e.currentTarget.dataset;
      const question = this.data.source[index];
      let value = key;
      if (question.kind === 'multiple') {
        const current = this.data.answers[String(question.id)] || [];
        value = current.includes(key) ? current.filter((k) => k !== key) : current.concat(key).sort();
        if (!value.length) value = null;
      }
      this.setAnswer(index, value);
      autosave.remember(this.data.attemptId, question.id, value);
      this.flush();
    },

    inputBlank(e) {
      const { index, blank } = e.currentTarget.dataset;
      const question = this.data.source[index];
      const value = (this.data.answers[String(question.id)] || Array(question.blanks || 1).fill('')).slice();
      value[blank] = e.detail.value;
      this.setAnswer(index, value);
      autosave.remember(this.data.attemptId, question.id, value); // sent when the field loses focus
      this.setData({ unsynced: Object.keys(autosave.pending(this.data.attemptId)).length });
    },

    blurBlank() {
      this.flush();
    },

    async flush() {
      const attemptId = this.data.attemptId;
      this.setData({ sync: 'saving' });
      const result = await autosave.flush(attemptId);
      const unsynced = Object.keys(autosave.pending(attemptId)).length;
      if (result.ok) {
        this.setData({ sync: unsynced ? 'saving' : 'saved', unsynced });
      } else if (result.final) {
        this.ended(result.error);
      } else {
        this.setData({ sync: 'offline', unsynced });
        const t = timers[attemptId];
        if (t && !t.retry) {
          t.retry = setTimeout(() => { t.retry = null; this.flush(); }, RETRY_MS);
        }
      }
      return result;
    },

    /** The server will take no more answers (time is up, closed, or submitted elsewhere): show the result. */
    ended(error) {
      stopTimers(this.data.attemptId);
      wx.showToast({ title: error.message, icon: 'none', duration: 2500 });
      this.openResult(this.data.attemptId);
    },

    submit() {
      const unanswered = this.data.questions.length - this.data.answeredCount;
      wx.showModal({
        title: '确认提交',
        content: unanswered ? `还有 ${unanswered} 题未作答，提交后不能修改，确定提交吗？` : '已全部作答，提交后不能修改，确定提交吗？',
        confirmText: '提交',
        confirmColor: '#C8161D',
        success: (res) => { if (res.confirm) this.submitNow(false); },
      });
    },

    async submitNow(timeUp) {
      if (this.data.submitting) return;
      const attemptId = this.data.attemptId;
      this.setData({ submitting: true });
      try {
        // The whole sheet travels with the submit, null for a question left unanswered: what is graded is what the
        // member sees, whatever reached the server before (and the server grades it without reading what was saved).
        await api.post(`/attempts/${attemptId}/submit`, { answers: this.sheet() });
        autosave.clear(attemptId);
        stopTimers(attemptId);
        this.openResult(attemptId, true);
      } catch (err) {
        if (err.status === 409) {
          autosave.clear(attemptId);
          this.ended(err);
        } else {
          this.setData({ submitting: false, sync: 'offline' });
          wx.showToast({
            title: timeUp ? '时间到，网络恢复后将自动提交' : '提交失败：网络不可用，答案已保存在手机上，请稍后再提交',
            icon: 'none', duration: 3000,
          });
          // Time is up: try again while the page is open; if the member leaves, the server grades what it saved.
          if (timeUp) timers[attemptId] = { tick: null, retry: setTimeout(() => this.submitNow(true), RETRY_MS) };
        }
      }
    },

    /** Every question's answer as the page shows it: {questionId: value or null}. */
    sheet() {
      const sheet = {};
      this.data.source.forEach((q) => {
        const value = this.data.answers[String(q.id)];
        sheet[String(q.id)] = value === undefined ? null : value;
      });
      return sheet;
    },

    openResult(attemptId, submitted) {
      wx.redirectTo({ url: `/pages/quiz/result?attempt_id=${attemptId}${submitted ? '&submitted=1' : ''}` });
    },
  },
});
