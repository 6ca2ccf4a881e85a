const format = require('../../utils/format');

test.each([
  ['2026-11-30T00:05:00+00:00', '2026-11-30 08:05'],
  ['2026-11-29T16:00:00Z', '2026-11-30 00:00'],
  ['2026-12-31T17:30:00+00:00', '2027-01-01 01:30'],
  [null, ''],
  ['not a time', ''],
])('dateTime(%p) is Beijing time %p', (value, expected) => {
  expect(format.dateTime(value)).toBe(expected);
});

test('short and long dates are in Beijing time, in Chinese', () => {
  expect(format.shortDateTime('2026-12-06T16:00:00+00:00')).toBe('12月7日 00:00');
  expect(format.longDate('2026-11-30')).toBe('2026年11月30日 星期一');
  expect(format.longDate('2026-11-29T16:30:00+00:00')).toBe('2026年11月30日 星期一');
  expect(format.monthDay('2026-11-30')).toBe('11月30日');
});

test.each([[0, 'A'], [1, 'B'], [2, 'C'], [5, 'F']])('option %p is labelled %p', (index, letter) => {
  expect(format.optionLetter(index)).toBe(letter);
});

test.each([
  [0.853, 0, '85%'], [0.853, 1, '85.3%'], [1, 0, '100%'], [0, 0, '0%'], [null, 0, '—'], [undefined, 0, '—'],
])('percent(%p, %p) is %p', (ratio, digits, expected) => {
  expect(format.percent(ratio, digits)).toBe(expected);
});

test.each([[899, '14:59'], [60, '01:00'], [5, '00:05'], [0, '00:00'], [-3, '00:00']])(
  'countdown(%p) is %p', (seconds, expected) => {
    expect(format.countdown(seconds)).toBe(expected);
  });

test('durations and estimates read as Chinese', () => {
  expect(format.minutes(5)).toBe('约 5 分钟');
  expect(format.duration(200)).toBe('3 分 20 秒');
  expect(format.duration(42)).toBe('42 秒');
});
