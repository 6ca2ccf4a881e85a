// Render a page from its WXML with miniprogram-simulate and drive it: lifecycles, taps, inputs, waiting.
const path = require('node:path');
const simulate = require('miniprogram-simulate');

const ROOT = path.resolve(__dirname, '..', '..');
const loaded = {}; // simulate.load must run once per path in a test file (a second load renders nothing)

/** Render pagePath (e.g. 'pages/study/index'), attach it, and fire onLoad(query) and onShow(). */
function openPage(pagePath, query = {}) {
  if (!loaded[pagePath]) loaded[pagePath] = simulate.load(path.join(ROOT, pagePath), { rootPath: ROOT });
  const comp = simulate.render(loaded[pagePath]);
  comp.attach(document.createElement('parent-wrapper'));
  const page = comp.instance;
  if (page.onLoad) page.onLoad(query);
  if (page.onShow) page.onShow();
  return comp;
}

/** Wait until check() returns a truthy value (polling), or fail with what the page shows. */
async function until(check, comp, timeoutMs = 8000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out; the page shows: ${comp ? comp.dom.textContent.replace(/\s+/g, ' ') : '?'}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Wait until the page's text contains text. */
function untilText(comp, text, timeoutMs) {
  return until(() => comp.dom.textContent.includes(text), comp, timeoutMs);
}

function text(comp) {
  return comp.dom.textContent.replace(/\s+/g, ' ').trim();
}

function find(comp, selector) {
  const node = comp.querySelector(selector);
  if (!node) throw new Error(`${selector} not on the page: ${text(comp)}`);
  return node;
}

/** Tap the element matching selector (an id or class of the page). */
function tap(comp, selector, detail) {
  find(comp, selector).dispatchEvent('tap', detail ? { detail } : undefined);
}

/** Type into an input/textarea (fires its bindinput with detail.value). */
function input(comp, selector, value) {
  find(comp, selector).dispatchEvent('input', { detail: { value } });
}

/** Fire any event (e.g. 'getphonenumber', 'change') with a detail. */
function fire(comp, selector, event, detail) {
  find(comp, selector).dispatchEvent(event, { detail });
}

/** Let pending timers and promises run. */
function settle(ms = 30) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

module.exports = { openPage, until, untilText, text, find, tap, input, fire, settle, ROOT };
