// The one place that says where the API is. `make run` serves it on 127.0.0.1:5000; for a real deployment set
// BASE_URL to the HTTPS origin whitelisted as a request domain (see docs/miniprogram.md).
module.exports = {
  BASE_URL: 'http://127.0.0.1:5000/api/v1',
  // Waits before each retry of a request that never reached the server (network failure), in milliseconds.
  RETRY_DELAYS_MS: [500, 1500],
  REQUEST_TIMEOUT_MS: 15000,
  // Only against make run's fake WeChat, which knows no code from DevTools' wx.login: a fixed login code such as
  // 'dev:demo-member' logs in as that demo openid. Leave empty for any real deployment.
  DEV_LOGIN_CODE: '',
};
