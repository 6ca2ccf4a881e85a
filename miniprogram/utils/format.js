// Pure formatting for pages: Beijing time, option letters, percentages, durations. No wx, no state.
const BEIJING_OFFSET_MS = 8 * 3600 * 1000; // Asia/Shanghai has no daylight saving time
const WEEKDAYS = ['日', '一', '二', '三', '四', '五', '六'];

function pad(n) {
  return n < 10 ? `0${n}` : String(n);
}

/** The Beijing wall-clock parts of an ISO timestamp (or Date), or null for an empty/invalid value. */
function beijingParts(value) {
  if (!value) return null;
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  if (Number.isNaN(ms)) return null;
  const d = new Date(ms + BEIJING_OFFSET_MS);
  return {
    year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(),
    hour: d.getUTCHours(), minute: d.getUTCMinutes(), weekday: d.getUTCDay(),
  };
}

/** "2026-11-30 08:05" in Beijing time. */
function dateTime(value) {
  const p = beijingParts(value);
  return p ? `${p.year}-${pad(p.month)}-${pad(p.day)} ${pad(p.hour)}:${pad(p.minute)}` : '';
}

/** "11月30日 08:05" in Beijing time (short form for lists). */
function shortDateTime(value) {
  const p = beijingParts(value);
  return p ? `${p.month}月${p.day}日 ${pad(p.hour)}:${pad(p.minute)}` : '';
}

/** "2026年11月30日 星期一" for a date ("2026-11-30") or a timestamp. */
function longDate(value) {
  const p = /^\d{4}-\d{2}-\d{2}$/.test(value || '') ? beijingParts(`${value}T00:00:00+08:00`) : beijingParts(value);
  return p ? `${p.year}年${p.month}月${p.day}日 星期${WEEKDAYS[p.weekday]}` : '';
}

/** "11月30日" for a date ("2026-11-30") or a timestamp. */
function monthDay(value) {
  const p = /^\d{4}-\d{2}-\d{2}$/.test(value || '') ? beijingParts(`${value}T00:00:00+08:00`) : beijingParts(value);
  return p ? `${p.month}月${p.day}日` : '';
}

/** The label of the option shown at position index: A, B, C… (the shown order, not the stored key). */
function optionLetter(index) {
  return String.fromCharCode(65 + index);
}

/** "85%" from a ratio 0–1 (digits after the point optional); "—" when unknown. */
function percent(ratio, digits = 0) {
  if (ratio === null || ratio === undefined || Number.isNaN(Number(ratio))) return '—';
  return `${(Number(ratio) * 100).toFixed(digits)}%`;
}

/** "12:05" (minutes:seconds) for a countdown; never negative. */
function countdown(seconds) {
  const s = Math.max(0, Math.floor(seconds || 0));
  return `${pad(Math.floor(s / 60))}:${pad(s % 60)}`;
}

/** "约 5 分钟" for an estimated reading time. */
function minutes(n) {
  return `约 ${n || 1} 分钟`;
}

/** "3 分 20 秒" for a measured duration. */
function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds || 0));
  const m = Math.floor(s / 60);
  return m ? `${m} 分 ${s % 60} 秒` : `${s} 秒`;
}

module.exports = { beijingParts, dateTime, shortDateTime, longDate, monthDay, optionLetter, percent, countdown,
  minutes, duration };
