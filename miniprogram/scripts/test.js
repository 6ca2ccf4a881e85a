// The Node suite as `make test` runs it: the static checks, then jest; ends with one plain line
// `N passed, N failed` (static checks and jest tests together) and exits non-zero if anything failed.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const check = spawnSync(process.execPath, [path.join(__dirname, 'check.js')], { cwd: ROOT, encoding: 'utf8' });
process.stdout.write(check.stdout.split('\n').filter((l) => !l.startsWith('ok  ')).join('\n'));
process.stderr.write(check.stderr);
const staticLine = /static checks: (\d+) passed, (\d+) failed/.exec(check.stdout);
let passed = staticLine ? Number(staticLine[1]) : 0;
let failed = staticLine ? Number(staticLine[2]) : 1;

const report = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bs-jest-')), 'report.json');
const jest = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'),
  '--json', `--outputFile=${report}`, ...process.argv.slice(2)], { cwd: ROOT, stdio: 'inherit' });
if (fs.existsSync(report)) {
  const result = JSON.parse(fs.readFileSync(report, 'utf8'));
  fs.rmSync(path.dirname(report), { recursive: true, force: true });
  passed += result.numPassedTests;
  failed += result.numFailedTests + result.numRuntimeErrorTestSuites;
  console.log(`jest: ${result.numPassedTests} passed, ${result.numFailedTests} failed`);
} else {
  failed += 1;
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed || jest.status ? 1 : 0);
