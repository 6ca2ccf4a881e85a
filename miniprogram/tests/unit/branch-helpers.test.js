const branch = require('../../utils/branch');

test('the reminder confirmation names everyone who will be reminded, and only them', () => {
  const members = Array.from({ length: 14 }, (_, i) => ({ id: i + 1, name: `党员${i + 1}` }));
  const c = branch.reminderConfirmation('reading', { members, already_reminded: [{ id: 99, name: '张三' }] });
  expect(c.title).toBe('提醒 14 人学习');
  for (const m of members) expect(c.content).toContain(m.name);
  expect(c.content).not.toContain('张三');
  expect(c.content).toContain('另有 1 人今天已提醒过');
  expect(branch.reminderConfirmation('quiz', { members: [], already_reminded: [] })).toBeNull();
});

test('the quiz a branch takes this week: its own first, else its committee\'s', () => {
  const quizzes = [
    { id: 1, week_key: '2026-W49', branch_id: null },
    { id: 2, week_key: '2026-W49', branch_id: 7 },
    { id: 3, week_key: '2026-W48', branch_id: 8 },
  ];
  expect(branch.branchQuiz(quizzes, 7, '2026-W49').id).toBe(2);
  expect(branch.branchQuiz(quizzes, 8, '2026-W49').id).toBe(1);
  expect(branch.branchQuiz(quizzes, 8, '2026-W50')).toBeNull();
});

test('today is the Beijing date', () => {
  expect(branch.beijingToday(new Date('2026-11-29T16:30:00Z'))).toBe('2026-11-30');
  expect(branch.beijingToday(new Date('2026-11-30T15:59:00Z'))).toBe('2026-11-30');
});

test('the desk console address comes from the API origin', () => {
  expect(branch.consoleUrl('https://study.example.com/api/v1', '/console/quizzes'))
    .toBe('https://study.example.com/console/quizzes');
  const jobs = branch.deskJobs('http://127.0.0.1:5000/api/v1', 3);
  expect(jobs.map((j) => j.url)).toContain('http://127.0.0.1:5000/console/branches/3/tally');
  expect(jobs.map((j) => j.what)).toContain('导入党员名册');
});

test('rates and ratios read plainly', () => {
  expect(branch.rate(0.5)).toBe('50%');
  expect(branch.rate(null)).toBe('—');
  expect(branch.ratio(3, 10)).toBe('3/10');
  expect(branch.names([{ name: '甲' }, { name: '乙' }])).toBe('甲、乙');
});

test('the reminder audience splits into who a tap reminds now and who was reminded today', () => {
  const split = branch.splitAudience({ members: [
    { id: 1, name: '甲', reminded_today: false }, { id: 2, name: '乙', reminded_today: true },
  ] });
  expect(split.members.map((m) => m.id)).toEqual([1]);
  expect(split.already_reminded.map((m) => m.id)).toEqual([2]);
  expect(branch.splitAudience(undefined)).toEqual({ members: [], already_reminded: [] });
});
