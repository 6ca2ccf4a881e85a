// Pure helpers for the secretary's pages: the dashboard's figures and the reminder confirmation. No wx here.
const format = require('./format');

const REMINDER_KINDS = {
  reading: { label: '学习', what: '本周已到期的学习还没有学完' },
  quiz: { label: '测验', what: '本周测验还没有提交' },
  quota: { label: '1+4+1', what: '1+4+1 进度落后' },
};

/** Today's date in Beijing as "2026-11-30". */
function beijingToday(now = new Date()) {
  const p = format.beijingParts(now);
  return `${p.year}-${String(p.month).padStart(2, '0')}-${String(p.day).padStart(2, '0')}`;
}

/** A figure {value, label}: a rate as a percentage (— when there is nothing to measure). */
function rate(ratio) {
  return format.percent(ratio);
}

/** "12/30" for done out of total. */
function ratio(done, total) {
  return `${done || 0}/${total || 0}`;
}

/** The names of members, joined the Chinese way, all of them (the confirmation must name everyone). */
function names(members) {
  return (members || []).map((m) => m.name).join('、');
}

/**
 * The server's reminder audience (GET /branches/{id}/reminders: members each marked reminded_today) split into
 * {members: who a tap reminds now, already_reminded: who was reminded today}.
 */
function splitAudience(audience) {
  const all = (audience && audience.members) || [];
  return { members: all.filter((m) => !m.reminded_today), already_reminded: all.filter((m) => m.reminded_today) };
}

/**
 * The confirmation before 一键提醒: {title, content} naming exactly who will be reminded, or null when nobody
 * is left to remind.
 */
function reminderConfirmation(kind, preview) {
  const spec = REMINDER_KINDS[kind];
  const members = preview.members || [];
  if (!members.length) return null;
  const already = (preview.already_reminded || []).length;
  const tail = already ? `\n（另有 ${already} 人今天已提醒过，不再重复提醒）` : '';
  return {
    title: `提醒 ${members.length} 人${spec.label}`,
    content: `将向以下 ${members.length} 位${spec.what}的党员发送提醒：${names(members)}${tail}`,
  };
}

/** The quiz among a manager's list that this branch takes this week (its own, else its committee's), or null. */
function branchQuiz(quizzes, branchId, weekKey) {
  const week = (quizzes || []).filter((q) => q.week_key === weekKey);
  return week.find((q) => q.branch_id === branchId) || week.find((q) => q.branch_id === null) || null;
}

/** Where on the desk console (书记工作台) a job the phone cannot do lives: the API's origin + the console path. */
function consoleUrl(apiBase, path) {
  return String(apiBase || '').replace(/\/api\/v1\/?$/, '') + path;
}

// What the phone does not do, and the console page that does it.
const DESK_JOBS = [
  { what: '导入党员名册', path: '/console/imports/roster' },
  { what: '导入学习计划、发布学习内容', path: '/console/imports/plans' },
  { what: '导入题库、创建每周一测', path: '/console/quizzes' },
  { what: '导出 1+4+1 公示表', path: '/console/branches/{id}/tally' },
];

/** The console jobs with their full URLs for a branch. */
function deskJobs(apiBase, branchId) {
  return DESK_JOBS.map((job) => ({ what: job.what, url: consoleUrl(apiBase, job.path.replace('{id}', branchId)) }));
}

module.exports = { REMINDER_KINDS, beijingToday, rate, ratio, names, splitAudience, reminderConfirmation, branchQuiz, consoleUrl,
  deskJobs };
