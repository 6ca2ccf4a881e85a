const quota = require('../../utils/quota');

test.each([
  ['bs-checkin:12:048213', { exchangeId: 12, code: '048213' }],
  ['  bs-checkin:7:000001\n', { exchangeId: 7, code: '000001' }],
  ['bs-checkin:12:48213', null],
  ['bs-checkin:x:048213', null],
  ['https://example.com/bs-checkin:12:048213', null],
  ['048213', null],
  ['', null],
  [undefined, null],
])('the scanned text %p reads as %p', (text, expected) => {
  expect(quota.parseCheckin(text)).toEqual(expected);
});

test.each([['123456', true], [' 123456 ', true], ['12345', false], ['1234567', false], ['12a456', false]])(
  'a typed code %p is a code: %p', (text, expected) => {
    expect(quota.isCode(text)).toBe(expected);
  },
);

test('progress rows carry done, quota, expected, bar width and whether each is behind', () => {
  const rows = quota.itemRows({
    given: 0, attended: 5, read: 1, policy: { talks: 1, attends: 4, books: 1 },
    items: { talks: { expected: 1 }, attends: { expected: 4 }, books: { expected: 1 } },
  });
  expect(rows.map((r) => [r.label, r.done, r.quota, r.pct, r.complete, r.behind])).toEqual([
    ['交流发言', 0, 1, 0, false, true],
    ['参加交流', 5, 4, 100, true, false],
    ['阅读书籍', 1, 1, 100, true, false],
  ]);
  expect(quota.itemRows({ given: 0, attended: 0, read: 0, policy: { talks: 0, attends: 0, books: 0 } })[0])
    .toMatchObject({ pct: 100, complete: true, behind: false });
});

test('pace and status read in Chinese with their colours', () => {
  expect(quota.pace('behind')).toEqual({ text: '进度落后', tag: 'tag-red' });
  expect(quota.pace('complete').text).toBe('已完成全年任务');
  expect(quota.statusTag('rejected')).toBe('tag-red');
  expect(quota.statusTag('pending')).toBe('tag-amber');
});

test('a reflection counts its characters without blanks', () => {
  expect(quota.reflectionLength('读 书\n心得 ')).toBe(4);
  expect(quota.reflectionLength('')).toBe(0);
});

test('an exchange time is sent as Beijing time', () => {
  expect(quota.beijingDateTime('2026-12-03', '14:30')).toBe('2026-12-03T14:30:00+08:00');
  expect(quota.beijingDateTime('', '14:30')).toBe('');
});
