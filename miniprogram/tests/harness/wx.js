// The phone for a test: replaces miniprogram-simulate's wx stubs with working storage, a wx.request that does real
// HTTP to the backend the harness started (node:http), a switchable network, per-test stubs, and a record of
// toasts, modals and navigation for assertions.
const http = require('node:http');
const fs = require('node:fs');

function backendInfo() {
  return JSON.parse(fs.readFileSync(process.env.BS_BACKEND_FILE, 'utf8'));
}

const phone = {
  openid: 'demo-member',
  storage: new Map(),
  network: { down: false },
  stubs: [], // functions (opts) => {statusCode, data} | undefined; the first answer wins, undefined passes through
  requests: [], // {method, url, data, statusCode}
  toasts: [],
  modals: [],
  navigations: [],
  modalConfirm: true,
  subscribeResult: null, // (tmplIds) => result map; default accepts all
  subscribeCalls: [],
  scanResult: null,
};

function realRequest(opts) {
  const url = new URL(opts.url);
  const method = (opts.method || 'GET').toUpperCase();
  const hasBody = opts.data !== undefined && method !== 'GET';
  const body = hasBody ? JSON.stringify(opts.data) : undefined;
  const headers = { ...(opts.header || {}) };
  if (body) headers['Content-Length'] = Buffer.byteLength(body);
  const req = http.request({ hostname: url.hostname, port: url.port, path: url.pathname + url.search, method, headers },
    (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let data = text;
        try { data = JSON.parse(text); } catch (e) { /* not JSON: keep the text */ }
        phone.requests.push({ method, url: opts.url, data: opts.data, statusCode: res.statusCode });
        opts.success && opts.success({ statusCode: res.statusCode, data, header: res.headers });
        opts.complete && opts.complete({});
      });
    });
  req.on('error', (err) => {
    opts.fail && opts.fail({ errMsg: `request:fail ${err.message}` });
    opts.complete && opts.complete({});
  });
  if (body) req.write(body);
  req.end();
}

function request(opts) {
  const method = (opts.method || 'GET').toUpperCase();
  setTimeout(() => {
    if (phone.network.down) {
      phone.requests.push({ method, url: opts.url, data: opts.data, statusCode: 0 });
      opts.fail && opts.fail({ errMsg: 'request:fail net::ERR_INTERNET_DISCONNECTED' });
      opts.complete && opts.complete({});
      return;
    }
    for (const stub of phone.stubs) {
      const answer = stub({ ...opts, method, path: opts.url.replace(backendInfo().apiBase, '') });
      if (answer === 'network') {
        phone.requests.push({ method, url: opts.url, data: opts.data, statusCode: 0 });
        opts.fail && opts.fail({ errMsg: 'request:fail stubbed' });
        return;
      }
      if (answer) {
        phone.requests.push({ method, url: opts.url, data: opts.data, statusCode: answer.statusCode, stubbed: true });
        opts.success && opts.success({ statusCode: answer.statusCode, data: answer.data, header: {} });
        return;
      }
    }
    realRequest(opts);
  }, 0);
}

function callback(opts, result) {
  setTimeout(() => {
    opts && opts.success && opts.success(result);
    opts && opts.complete && opts.complete(result);
  }, 0);
  return Promise.resolve(result);
}

/** Install the phone's wx on top of simulate's; point config.BASE_URL at the harness backend. */
function installWx() {
  const { apiBase } = backendInfo();
  require('../../config').BASE_URL = apiBase;
  require('../../config').RETRY_DELAYS_MS = [20, 40];
  Object.assign(global.wx, {
    request,
    login: (opts) => callback(opts, { code: `dev:${phone.openid}`, errMsg: 'login:ok' }),
    getStorageSync: (key) => (phone.storage.has(key) ? JSON.parse(phone.storage.get(key)) : ''),
    setStorageSync: (key, value) => { phone.storage.set(key, JSON.stringify(value)); },
    removeStorageSync: (key) => { phone.storage.delete(key); },
    clearStorageSync: () => phone.storage.clear(),
    showToast: (opts) => { phone.toasts.push(opts.title); return callback(opts, {}); },
    showLoading: (opts) => callback(opts, {}),
    hideLoading: (opts) => callback(opts, {}),
    showModal: (opts) => {
      phone.modals.push({ title: opts.title, content: opts.content });
      return callback(opts, { confirm: phone.modalConfirm, cancel: !phone.modalConfirm });
    },
    navigateTo: (opts) => { phone.navigations.push({ how: 'navigateTo', url: opts.url }); return callback(opts, {}); },
    redirectTo: (opts) => { phone.navigations.push({ how: 'redirectTo', url: opts.url }); return callback(opts, {}); },
    reLaunch: (opts) => { phone.navigations.push({ how: 'reLaunch', url: opts.url }); return callback(opts, {}); },
    switchTab: (opts) => { phone.navigations.push({ how: 'switchTab', url: opts.url }); return callback(opts, {}); },
    navigateBack: (opts) => { phone.navigations.push({ how: 'navigateBack' }); return callback(opts, {}); },
    setNavigationBarTitle: (opts) => callback(opts, {}),
    stopPullDownRefresh: (opts) => callback(opts, {}),
    setTabBarBadge: (opts) => callback(opts, {}),
    removeTabBarBadge: (opts) => callback(opts, {}),
    setClipboardData: (opts) => callback(opts, {}),
    scanCode: (opts) => callback(opts, { result: phone.scanResult, errMsg: 'scanCode:ok' }),
    requestSubscribeMessage: (opts) => {
      phone.subscribeCalls.push(opts.tmplIds);
      const result = phone.subscribeResult ? phone.subscribeResult(opts.tmplIds)
        : Object.fromEntries(opts.tmplIds.map((id) => [id, 'accept']));
      return callback(opts, { ...result, errMsg: 'requestSubscribeMessage:ok' });
    },
  });
  return phone;
}

/** A fresh phone for the next test: given openid, empty storage and records, network up, no stubs. */
function resetPhone(openid = 'demo-member') {
  Object.assign(phone, {
    openid, network: { down: false }, stubs: [], requests: [], toasts: [], modals: [], navigations: [],
    modalConfirm: true, subscribeResult: null, subscribeCalls: [], scanResult: null,
  });
  phone.storage.clear();
  return phone;
}

module.exports = { installWx, resetPhone, phone, backendInfo };
