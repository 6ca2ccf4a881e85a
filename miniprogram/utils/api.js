// The one module that talks to the server: base URL, token, silent re-login on 401, the {code, message} error
// shape, retries on network failure. Pages call api.get/post/put/del and show errors with api.showError.
const config = require('../config');

const TOKEN_KEY = 'bs_token';
const MEMBER_KEY = 'bs_member';

/** What every failed call rejects with: status 0 means the server was never reached. */
class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details || {};
  }
}

const NETWORK_MESSAGE = '网络连接失败，请检查网络后重试';

function token() {
  return wx.getStorageSync(TOKEN_KEY) || '';
}

function saveSession(result) {
  wx.setStorageSync(TOKEN_KEY, result.token);
  wx.setStorageSync(MEMBER_KEY, result.member);
}

function clearSession() {
  wx.removeStorageSync(TOKEN_KEY);
  wx.removeStorageSync(MEMBER_KEY);
}

function currentMember() {
  return wx.getStorageSync(MEMBER_KEY) || null;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One wx.request, resolved with {statusCode, data} or rejected with an ApiError of status 0. */
function send(method, path, data, withToken) {
  return new Promise((resolve, reject) => {
    /** @type {Record<string, string>} */
    const header = { 'Content-Type': 'application/json' };
    const bearer = withToken ? token() : '';
    if (bearer) header.Authorization = `Bearer ${bearer}`;
    wx.request({
      url: config.BASE_URL + path,
      method,
      data,
      header,
      timeout: config.REQUEST_TIMEOUT_MS,
      success: (res) => resolve({ statusCode: res.statusCode, data: res.data }),
      fail: (err) => reject(new ApiError(0, 'network_error', NETWORK_MESSAGE, { errMsg: err && err.errMsg })),
    });
  });
}

/** Send, retrying only when the server was not reached (every write the phone makes is idempotent). */
async function sendWithRetry(method, path, data, withToken, retries) {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await send(method, path, data, withToken);
    } catch (err) {
      if (attempt >= retries) throw err;
      await sleep(config.RETRY_DELAYS_MS[Math.min(attempt, config.RETRY_DELAYS_MS.length - 1)]);
    }
  }
}

function toError(res) {
  const body = res.data && typeof res.data === 'object' ? res.data : {};
  const message = body.message || (res.statusCode >= 500 ? '服务器开小差了，请稍后再试' : '请求失败，请稍后再试');
  return new ApiError(res.statusCode, body.code || `http_${res.statusCode}`, message, body.details);
}

function wxLogin() {
  if (config.DEV_LOGIN_CODE) return Promise.resolve(config.DEV_LOGIN_CODE);
  return new Promise((resolve, reject) => {
    wx.login({
      success: (res) => resolve(res.code),
      fail: () => reject(new ApiError(0, 'wx_login_failed', '微信登录失败，请稍后重试')),
    });
  });
}

/** Exchange a fresh wx.login code (and, on first visit, a phone_code) for a session; stores it. */
async function loginWithWeChat(phoneCode) {
  const code = await wxLogin();
  const body = phoneCode ? { code, phone_code: phoneCode } : { code };
  const res = await sendWithRetry('POST', '/auth/wechat', body, false, config.RETRY_DELAYS_MS.length);
  if (res.statusCode !== 200) throw toError(res);
  saveSession(res.data);
  return res.data;
}

let relogin = null;

/** Log in again without the member noticing; concurrent 401s share one attempt. */
function silentLogin() {
  if (!relogin) {
    relogin = loginWithWeChat().finally(() => { relogin = null; });
  }
  return relogin;
}

/** Send the member to the login page when they cannot be logged in silently (not bound, deactivated). */
function sendToLogin(err) {
  clearSession();
  wx.reLaunch({ url: `/pages/login/index?reason=${encodeURIComponent(err.code)}` });
}

/**
 * Call the API; resolves with the response body, rejects with an ApiError {status, code, message, details}.
 * options.auth=false sends no token; options.retries overrides how often a network failure is retried.
 */
async function request(method, path, data, options = {}) {
  const withToken = options.auth !== false;
  const retries = options.retries === undefined ? config.RETRY_DELAYS_MS.length : options.retries;
  let res = await sendWithRetry(method, path, data, withToken, retries);
  if (res.statusCode === 401 && withToken) {
    try {
      await silentLogin();
    } catch (err) {
      if (err.status === 403 || err.status === 409) sendToLogin(err);
      throw err;
    }
    res = await sendWithRetry(method, path, data, withToken, retries);
  }
  if (res.statusCode >= 200 && res.statusCode < 300) return res.data;
  throw toError(res);
}

/** Show an error the way every page does: the server's own Chinese message. */
function showError(err) {
  const message = (err && err.message) || '操作失败，请稍后再试';
  wx.showToast({ title: message, icon: 'none', duration: 2500 });
}

/** Build a query string from an object, skipping empty values. */
function query(params) {
  const parts = Object.keys(params || {})
    .filter((key) => params[key] !== undefined && params[key] !== null && params[key] !== '')
    .map((key) => `${encodeURIComponent(key)}=${encodeURIComponent(params[key])}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

module.exports = {
  ApiError,
  request,
  get: (path, params, options) => request('GET', path + query(params), undefined, options),
  post: (path, data, options) => request('POST', path, data || {}, options),
  put: (path, data, options) => request('PUT', path, data || {}, options),
  del: (path, options) => request('DELETE', path, undefined, options),
  showError,
  loginWithWeChat,
  silentLogin,
  token,
  currentMember,
  clearSession,
  query,
};
