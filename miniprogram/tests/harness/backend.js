// Starts the real backend for a test run: a temp SQLite database, migrated and seeded with the demo, the fake
// WeChat API and the Flask API, each on a free port of 127.0.0.1. Used by jest's globalSetup/globalTeardown.
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');

const REPO = path.resolve(__dirname, '..', '..', '..');
const PYTHON = process.env.PYTHON || path.join(REPO, '.venv', 'bin', 'python');

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function waitFor(url, child, log, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (child.exitCode !== null) {
        reject(new Error(`${url}: process exited ${child.exitCode}\n${fs.readFileSync(log, 'utf8')}`));
        return;
      }
      const req = http.get(url, (res) => { res.resume(); resolve(); });
      req.on('error', () => {
        if (Date.now() > deadline) reject(new Error(`${url} did not answer\n${fs.readFileSync(log, 'utf8')}`));
        else setTimeout(attempt, 150);
      });
    };
    attempt();
  });
}

function spawnLogged(args, env, log) {
  const out = fs.openSync(log, 'a');
  return spawn(PYTHON, args, { cwd: REPO, env, stdio: ['ignore', out, out], detached: false });
}

/** Migrate and seed a fresh database, start the fake WeChat and the API; returns {apiBase, fakeBase, env, stop}. */
async function startBackend() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bs-mp-'));
  const [apiPort, fakePort] = [await freePort(), await freePort()];
  const fakeBase = `http://127.0.0.1:${fakePort}`;
  const env = {
    ...process.env,
    APP_ENV: 'development',
    DATABASE_URL: `sqlite:///${path.join(dir, 'bs.db')}`,
    INSTANCE_DIR: dir,
    WECHAT_API_BASE: fakeBase,
    WECOM_API_BASE: fakeBase,
    PUBLIC_URL: `http://127.0.0.1:${apiPort}`,
    // Short enough for a test to study an item to completion in a few seconds.
    READ_MIN_SECONDS: '2',
    READ_SECONDS_PER_MINUTE: '0',
    RATELIMIT_ENABLED: '0',
    FLASK_APP: 'wsgi',
  };
  delete env.REDIS_URL; // each process keeps its own in-process Redis: it holds only caches
  const log = path.join(dir, 'backend.log');
  const flask = (...args) => execFileSync(PYTHON, ['-m', 'flask', '--app', 'wsgi', ...args],
    { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
  flask('db', 'upgrade', 'heads');
  flask('seed-demo');
  const fake = spawnLogged(['-m', 'fakewechat', '--host', '127.0.0.1', '--port', String(fakePort),
    '--appid', 'wx-demo-appid', '--secret', 'demo-app-secret'], env, log);
  const api = spawnLogged(['-m', 'flask', '--app', 'wsgi', 'run', '--host', '127.0.0.1', '--port', String(apiPort),
    '--no-reload', '--without-threads'], env, log);
  const stop = () => {
    for (const child of [api, fake]) if (child.exitCode === null) child.kill('SIGTERM');
  };
  try {
    await waitFor(`${fakeBase}/_fake/messages`, fake, log);
    await waitFor(`http://127.0.0.1:${apiPort}/healthz`, api, log);
  } catch (err) {
    stop();
    throw err;
  }
  return { apiBase: `http://127.0.0.1:${apiPort}/api/v1`, fakeBase, dir, env, log, stop, pids: [api.pid, fake.pid] };
}

module.exports = { startBackend, REPO, PYTHON };
