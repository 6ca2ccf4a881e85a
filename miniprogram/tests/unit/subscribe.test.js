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

describe('the card a page offers in data.consent', () => {
  const { phone } = require('../harness/wx');
  const TEMPLATES = [
    { purpose: 'study_material', template_id: 'tmpl-study', banned: false, remaining: 0 },
    { purpose: 'quiz_result', template_id: 'tmpl-result', banned: false, remaining: 0 },
  ];

  function fakePage() {
    return { data: { consent: null }, setData(change) { Object.assign(this.data, change); } };
  }

  /** The backend's consent list, and its answer to a report (the reported accepts gain one send each). */
  function stubSubscriptions() {
    phone.stubs.push((opts) => {
      if (opts.path !== '/me/subscriptions') return undefined;
      if (opts.method === 'GET') return { statusCode: 200, data: TEMPLATES };
      const accepted = opts.data.results.filter((r) => r.result === 'accept').map((r) => r.template_id);
      return { statusCode: 200, data: TEMPLATES.map((t) => ({ ...t, remaining: accepted.includes(t.template_id) ? 1 : 0 })) };
    });
  }

  const granted = (card, mine) => `已开启：${card.when}（可用 ${mine.remaining} 次）`;

  test('is offered with its label and moment for a purpose the deployment has a template for', async () => {
    stubSubscriptions();
    const page = fakePage();
    await subscribe.offer(page, 'quiz_result');
    expect(page.data.consent).toEqual({ ids: ['tmpl-result'], label: '测验成绩通知',
      when: subscribe.describe('quiz_result').when, done: false, message: '' });
  });

  test('is not offered without a template, nor when the list cannot be read', async () => {
    stubSubscriptions();
    const page = fakePage();
    await subscribe.offer(page, 'task_reminder');
    expect(page.data.consent).toBeNull();
    phone.network.down = true;
    await expect(subscribe.offer(page, 'quiz_result')).resolves.toBeUndefined();
    expect(page.data.consent).toBeNull();
  });

  test('a tap asks for its templates and marks it done with the granted message, once', async () => {
    stubSubscriptions();
    const page = fakePage();
    await subscribe.offer(page, 'study_material');
    await subscribe.answer(page, granted, '未开启');
    expect(phone.subscribeCalls).toEqual([['tmpl-study']]);
    expect(page.data.consent).toMatchObject({ done: true, message: `已开启：${page.data.consent.when}（可用 1 次）` });
    await subscribe.answer(page, granted, '未开启');
    expect(phone.subscribeCalls).toHaveLength(1);
  });

  test('a refusal marks it done with the refused message; a failed report is a toast and leaves it offered', async () => {
    stubSubscriptions();
    const page = fakePage();
    await subscribe.offer(page, 'study_material');
    phone.subscribeResult = (ids) => Object.fromEntries(ids.map((id) => [id, 'reject']));
    const offered = page.data.consent;
    phone.network.down = true;
    await subscribe.answer(page, granted, '未开启');
    expect(page.data.consent).toBe(offered);
    expect(phone.toasts).toEqual(['网络连接失败，请检查网络后重试']);
    phone.network.down = false;
    await subscribe.answer(page, granted, '未开启');
    expect(page.data.consent).toMatchObject({ done: true, message: '未开启' });
  });
});
