// Static checks of every page, offline: WeChat's WXML compiler (wcc) and WXSS compiler (wcsc) from the npm package
// miniprogram-compiler, then tsc --checkJs with miniprogram-api-typings. Exits non-zero on the first failure kind;
// prints one line per check so scripts/test.js can count them.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const BIN = path.join(ROOT, 'node_modules', 'miniprogram-compiler', 'bin', 'linux');

function files(ext) {
  const found = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (['node_modules', 'tests', 'scripts', 'screenshots'].includes(entry.name)) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith(ext)) found.push(path.relative(ROOT, full));
    }
  };
  walk(ROOT);
  return found.sort();
}

function run(cmd, args) {
  for (const bin of ['wcc', 'wcsc']) {
    const file = path.join(BIN, bin);
    if (fs.existsSync(file)) fs.chmodSync(file, 0o755); // npm may unpack them without the execute bit
  }
  return spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

const results = [];
function record(name, ok, output) {
  results.push({ name, ok });
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}`);
  if (!ok && output) console.log(output.trim().split('\n').slice(0, 20).map((l) => `     ${l}`).join('\n'));
}

for (const file of files('.wxml')) {
  const res = run(path.join(BIN, 'wcc'), ['-d', '-cc', '0', file, '-gn', '$gwx']);
  record(`wcc ${file}`, res.status === 0, res.stderr || res.stdout.slice(0, 500));
}
for (const file of files('.wxss')) {
  const res = run(path.join(BIN, 'wcsc'), ['-db', file]);
  record(`wcsc ${file}`, res.status === 0, res.stderr);
}
for (const file of files('.json').filter((f) => !f.startsWith('package'))) {
  let ok = true;
  let error = '';
  try { JSON.parse(fs.readFileSync(path.join(ROOT, file), 'utf8')); } catch (e) { ok = false; error = e.message; }
  record(`json ${file}`, ok, error);
}
const tsc = run(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.', '--noEmit']);
record('tsc --checkJs (miniprogram-api-typings)', tsc.status === 0, tsc.stdout + tsc.stderr);

const failed = results.filter((r) => !r.ok).length;
console.log(`static checks: ${results.length - failed} passed, ${failed} failed`);
module.exports = { passed: results.length - failed, failed };
if (require.main === module) process.exit(failed ? 1 : 0);
