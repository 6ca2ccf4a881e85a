// 学习内容: the sanitized body in rich-text, the source, the estimated time; reports "opened" when shown and
// "finished" when the member taps 完成学习 (or leaves); the server decides whether it counts and awards points.
// After an item counts, a tap may ask for tomorrow's study reminder (one-time subscribe consent).
const api = require('../../utils/api');
const format = require('../../utils/format');
const subscribe = require('../../utils/subscribe');

/** Visible reading time of each open reader, by material id (a page instance keeps no fields of its own). */
const clocks = {};

function visibleSeconds(id) {
  const clock = clocks[id];
  if (!clock) return 0;
  const running = clock.since ? Date.now() - clock.since : 0;
  return Math.round((clock.spent + running) / 1000);
}

function present(material) {
  return {
    id: material.id,
    title: material.title,
    meta: [material.source, material.kind_label, format.minutes(material.estimated_minutes)].filter(Boolean).join(' · '),
    dayLabel: format.monthDay(material.day),
    summary: material.summary,
    url: material.url,
    tags: material.tags,
    body: material.body,
  };
}

function describeState(state) {
  return {
    completed: state.completed,
    requiredLabel: format.duration(state.required_seconds),
    secondsLabel: format.duration(state.seconds),
    missingLabel: format.duration(Math.max(0, state.required_seconds - state.seconds)),
  };
}

Component({
  data: {
    id: 0,
    loading: true,
    error: '',
    material: null,
    state: null,
    finishing: false,
    result: null, // {completed, points, message}
    consent: null, // {ids, label, when, done, message}
  },
  methods: {
    onLoad(query) {
      this.setData({ id: Number(query.id) });
      clocks[this.data.id] = { spent: 0, since: null };
      this.load();
    },

    onShow() {
      const clock = clocks[this.data.id];
      if (clock && !clock.since) clock.since = Date.now();
    },

    onHide() {
      const clock = clocks[this.data.id];
      if (clock && clock.since) {
        clock.spent += Date.now() - clock.since;
        clock.since = null;
      }
    },

    onUnload() {
      // Leaving counts as finishing: the server keeps the measured time even when it is not enough yet.
      if (this.data.state && !this.data.state.completed) {
        api.post(`/materials/${this.data.id}/reads/finish`, { client_seconds: visibleSeconds(this.data.id) },
          { retries: 0 }).catch(() => {});
      }
      delete clocks[this.data.id];
    },

    async load() {
      try {
        const material = await api.get(`/materials/${this.data.id}`);
        this.setData({ loading: false, error: '', material: present(material), state: describeState(material.state) });
        wx.setNavigationBarTitle({ title: material.kind_label || '学习' });
        if (!material.state.completed) await this.reportOpen();
      } catch (err) {
        this.setData({ loading: false, error: err.message });
      }
    },

    async reportOpen() {
      const state = await api.post(`/materials/${this.data.id}/reads`);
      this.setData({ state: describeState(state) });
      this.onShow();
    },

    async finish() {
      if (this.data.finishing) return;
      this.setData({ finishing: true });
      try {
        const res = await api.post(`/materials/${this.data.id}/reads/finish`,
          { client_seconds: visibleSeconds(this.data.id) });
        this.setData({ state: describeState(res), result: this.resultOf(res) });
        if (res.completed) this.offerReminder();
      } catch (err) {
        if (err.code === 'reading_not_started') {
          // The "opened" report never reached the server (offline): start its clock now.
          await this.reportOpen().catch(() => {});
          this.setData({ result: { completed: false, message: '刚才的打开记录没有送达，已重新开始计时，请继续阅读。' } });
        } else {
          this.setData({ result: { completed: false, message: err.message } });
          if (err.status !== 409) api.showError(err);
        }
      } finally {
        this.setData({ finishing: false });
      }
    },

    resultOf(res) {
      if (res.completed) {
        const points = res.points_awarded
          ? `获得 ${res.points_awarded} 积分。` : '今日该项积分已达上限，学习记录已保存。';
        return { completed: true, points: res.points_awarded, message: `已计入今日学习，${points}` };
      }
      return {
        completed: false,
        message: `已学习 ${format.duration(res.seconds)}，学满 ${format.duration(res.required_seconds)} 才计入，请继续阅读。`,
      };
    },

    offerReminder() {
      return subscribe.offer(this, 'study_material');
    },

    askReminder() {
      return subscribe.answer(this, (card, mine) => `已开启：${card.when}会提醒您一次（可用 ${mine.remaining} 次）。`,
        '未开启提醒，可随时在“我的-通知设置”中查看。');
    },

    copyLink() {
      wx.setClipboardData({ data: this.data.material.url });
    },
  },
});
