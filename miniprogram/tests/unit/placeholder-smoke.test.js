// The harness itself: a page renders from its WXML and a real request reaches the backend.
const api = require('../../utils/api');
const { phone } = require('../harness/wx');

test('a real request logs in silently and reads the member', async () => {
  const me = await api.get('/me');
  expect(me.name).toBeTruthy();
  expect(phone.requests.map((r) => r.statusCode)).toEqual([401, 200, 200]);
});
