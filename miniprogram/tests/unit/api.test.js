// utils/api against the real backend: the session, the error shape and how an error is shown.
const api = require('../../utils/api');
const { phone } = require('../harness/wx');

test('the first call logs in silently, stores the session, and sends the token from then on', async () => {
  const me = await api.get('/me');
  expect(me.name).toBeTruthy();
  expect(phone.requests.map((r) => r.statusCode)).toEqual([401, 200, 200]);
  expect(api.currentMember().id).toBe(me.id);
  await api.get('/me');
  expect(phone.requests).toHaveLength(4);
});

test('a refusal rejects with {status, code, message} carrying the server\'s Chinese message', async () => {
  await expect(api.get('/attempts/999999')).rejects.toMatchObject({
    status: 404, code: 'not_found', message: '作答记录不存在',
  });
  await expect(api.put('/me/notification-preferences', { quiet_start: '25:00' })).rejects.toMatchObject({
    status: 422, code: expect.any(String), message: expect.stringMatching(/[\u4e00-\u9fa5]/),
  });
});

test('showError shows the message as a toast', async () => {
  const err = await api.get('/attempts/999999').catch((e) => e);
  api.showError(err);
  expect(phone.toasts).toEqual(['作答记录不存在']);
});

test('query skips empty values and encodes the rest', () => {
  expect(api.query({ q: '遵义 会议', tag: '', page: 2, x: null })).toBe('?q=%E9%81%B5%E4%B9%89%20%E4%BC%9A%E8%AE%AE&page=2');
  expect(api.query({})).toBe('');
});

test('DEV_LOGIN_CODE (DevTools against the fake WeChat) replaces the wx.login code', async () => {
  const config = require('../../config');
  config.DEV_LOGIN_CODE = 'dev:demo-secretary';
  try {
    const me = await api.get('/me');
    expect(me.role).toBe('secretary');
  } finally {
    config.DEV_LOGIN_CODE = '';
  }
});
