// Tab bar icons: `node scripts/icons.js` renders each line icon in scripts/icons/<name>.svg (drawn with
// currentColor) twice, grey for the tab bar's `color` and party red for its `selectedColor`, into
// images/tab/<name>.png and images/tab/<name>-on.png (81×81, transparent) with headless Chromium (CHROMIUM= to
// override /usr/bin/chromium). WeChat refuses tab icons over 40 KB; tests/unit/app-json.test.js checks the size.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const SRC = path.join(__dirname, 'icons');
const OUT = path.join(ROOT, 'images', 'tab');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SIZE = 81;
const { tabBar } = JSON.parse(fs.readFileSync(path.join(ROOT, 'app.json'), 'utf8'));
const COLORS = { '': tabBar.color, '-on': tabBar.selectedColor };

function render(svg, color, png) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bs-icon-'));
  const file = path.join(dir, 'icon.html');
  fs.writeFileSync(file, `<!doctype html><html><head><style>html, body { margin: 0; background: transparent; }
svg { display: block; width: ${SIZE}px; height: ${SIZE}px; color: ${color}; }</style></head><body>${svg}</body></html>`);
  execFileSync(CHROMIUM, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--hide-scrollbars', '--force-device-scale-factor=1', '--default-background-color=00000000',
    `--window-size=${SIZE},${SIZE}`, `--screenshot=${png}`, `file://${file}`], { stdio: 'ignore', timeout: 60000 });
  fs.rmSync(dir, { recursive: true, force: true });
}

fs.mkdirSync(OUT, { recursive: true });
for (const name of fs.readdirSync(SRC).filter((f) => f.endsWith('.svg')).map((f) => f.slice(0, -4)).sort()) {
  const svg = fs.readFileSync(path.join(SRC, `${name}.svg`), 'utf8');
  for (const [suffix, color] of Object.entries(COLORS)) {
    const png = path.join(OUT, `${name}${suffix}.png`);
    render(svg, color, png);
    console.log(`${path.relative(ROOT, png)}: ${fs.statSync(png).size} bytes`);
  }
}
