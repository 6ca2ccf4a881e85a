const subscribe = require('../../utils/subscribe');

test('only the asked templates with a known answer are reported', () => {
  const answer = { a: 'accept', b: 'reject', c: 'ban', d: 'accept', errMsg: 'requestSubscribeMessage:ok' };
  expect(subscribe.resultsOf(['a', 'b', 'c', 'x'], answer)).toEqual([
    { template_id: 'a', result: 'accept' }, { template_id: 'b', result: 'reject' }, { template_id: 'c', result: 'ban' },
  ]);
  expect(subscribe.resultsOf(['a'], {})).toEqual([]);
});

test('each purpose says in Chinese what it tells and when', () => {
  expect(subscribe.describe('quiz_result').label).toBe('测验成绩通知');
  expect(subscribe.describe('task_reminder').when).toContain('书记');
  expect(subscribe.describe('new_thing')).toEqual({ label: 'new_thing', when: '' });
});

test('request ids differ per call', () => {
  expect(subscribe.requestId()).not.toBe(subscribe.requestId());
});
