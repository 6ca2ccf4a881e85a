// Pure 1+4+1 helpers for the quota and branch pages: labels, progress rows, the check-in QR payload. No wx here.
const ITEMS = [
  { key: 'talks', count: 'given', label: '交流发言', unit: '次' },
  { key: 'attends', count: 'attended', label: '参加交流', unit: '次' },
  { key: 'books', count: 'read', label: '阅读书籍', unit: '本' },
];

const PACE = {
  complete: { text: '已完成全年任务', tag: 'tag-green' },
  on_track: { text: '进度正常', tag: 'tag-green' },
  behind: { text: '进度落后', tag: 'tag-red' },
};

const STATUS_TAGS = { approved: 'tag-green', pending: 'tag-amber', rejected: 'tag-red', cancelled: '' };

/** The pace badge of a progress ({text, tag}). */
function pace(value) {
  return PACE[value] || { text: '', tag: '' };
}

/** One row per quota item: label, done, quota, expected by now, bar width and whether it is on track. */
function itemRows(progress) {
  return ITEMS.map((item) => {
    const done = progress[item.count] || 0;
    const quota = (progress.policy && progress.policy[item.key]) || 0;
    const detail = (progress.items && progress.items[item.key]) || {};
    const expected = detail.expected || 0;
    return {
      key: item.key,
      label: item.label,
      unit: item.unit,
      done,
      quota,
      expected,
      pct: quota ? Math.min(100, Math.round((done / quota) * 100)) : 100,
      complete: done >= quota,
      behind: done < expected,
    };
  });
}

/** The tag class for an approval status (approved / pending / rejected / cancelled). */
function statusTag(status) {
  return STATUS_TAGS[status] || '';
}

/**
 * Read a scanned check-in QR (`bs-checkin:<exchange id>:<code>`): {exchangeId, code}, or null if it is not ours.
 * A typed code alone is 6 digits and belongs to the exchange the member picked.
 */
function parseCheckin(text) {
  const match = /^bs-checkin:(\d+):(\d{6})$/.exec(String(text || '').trim());
  return match ? { exchangeId: Number(match[1]), code: match[2] } : null;
}

/** Whether a typed code looks like a check-in code (6 digits). */
function isCode(text) {
  return /^\d{6}$/.test(String(text || '').trim());
}

/** Characters of a reflection that count toward the minimum (blanks do not). */
function reflectionLength(text) {
  return String(text || '').replace(/\s/g, '').length;
}

/** "2026-11-30T14:00" in Beijing time from a date ("2026-11-30") and a time ("14:00"), as the API reads it. */
function beijingDateTime(date, time) {
  return date && time ? `${date}T${time}:00+08:00` : '';
}

module.exports = { ITEMS, pace, itemRows, statusTag, parseCheckin, isCode, reflectionLength, beijingDateTime };
