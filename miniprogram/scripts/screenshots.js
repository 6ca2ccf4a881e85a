// Screenshots of every page: `node scripts/screenshots.js` (or `npm run screenshots`; SHOTS=me-index,quota-index
// for a few). Starts the real backend with the demo seed (the test harness), renders each page with
// miniprogram-simulate, converts its WXSS (rpx at 375 px) and shoots it with headless Chromium into docs/screenshots/.
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const run = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'),
  '--config', path.join(__dirname, 'shots', 'jest.config.js')], { cwd: ROOT, stdio: 'inherit' });
process.exit(run.status === null ? 1 : run.status);
