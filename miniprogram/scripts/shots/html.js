// Turn a rendered page (miniprogram-simulate's DOM) and its WXSS into a standalone HTML page that looks like the
// phone: rpx converted at 375 px wide (750 rpx = 375 px), a navigation bar, app.json's tab bar with its icons on tab pages, and CSS
// approximations of the built-in components. For a person's look, not a fidelity test.
const fs = require('node:fs');
const path = require('node:path');
const { pathToFileURL } = require('node:url');

const WIDTH = 375;
const RPX = WIDTH / 750;
// Built-in components that miniprogram-simulate leaves as bare tags, and the stand-ins the script registers.
const RENAME = { input: 'wx-input', textarea: 'wx-textarea', image: 'wx-image', switch: 'wx-switch',
  'rich-text': 'wx-rich-text', main: 'div' };

const BASE_CSS = `
html, body { margin: 0; padding: 0; }
body { width: ${WIDTH}px; height: 812px; overflow: hidden; background: #f5f6f7; }
.frame { width: ${WIDTH}px; height: 812px; display: flex; flex-direction: column; }
.status { height: 24px; background: #ffffff; }
.nav { height: 44px; background: #ffffff; display: flex; align-items: center; justify-content: center;
  position: relative; font-size: 17px; font-weight: 600; color: #000; border-bottom: 1px solid #f0f0f0; }
.nav .back { position: absolute; left: 12px; font-size: 22px; font-weight: 400; }
.nav .capsule { position: absolute; right: 7px; width: 87px; height: 32px; border-radius: 16px;
  border: 1px solid #e5e5e5; box-sizing: border-box; display: flex; align-items: center; justify-content: space-around;
  font-size: 13px; color: #333; }
.content { flex: 1; overflow: hidden; }
.tabbar { height: 56px; background: #ffffff; border-top: 1px solid #eeeeee; display: flex; padding-bottom: 8px; }
.tab { flex: 1; display: flex; flex-direction: column; align-items: center; justify-content: center;
  font-size: 11px; color: #8a8f99; }
.tab img { width: 27px; height: 27px; display: block; margin-bottom: 2px; }
.tab.on { color: #C8161D; }
wx-view, div { display: block; }
wx-text { display: inline; }
wx-button { display: block; position: relative; box-sizing: border-box; text-align: center; border-radius: 5px;
  font-size: 18px; line-height: 2.55; overflow: hidden; cursor: default; }
wx-picker, wx-input, wx-textarea { display: block; box-sizing: border-box; }
wx-textarea { width: 300px; height: 150px; }
wx-input { min-height: 1.4em; }
.input--placeholder, .textarea--placeholder { color: #a8acb3; }
.textarea--placeholder, .textarea--value { white-space: pre-wrap; }
wx-switch { display: inline-block; }
.switch--shot-switch { width: 52px; height: 32px; border-radius: 16px; background: #e5e5e5; position: relative; }
.switch--shot-switch .switch--knob { position: absolute; top: 2px; left: 2px; width: 28px; height: 28px;
  border-radius: 14px; background: #ffffff; box-shadow: 0 1px 3px rgba(0,0,0,.3); }
.switch--shot-switch.switch--on { background: #C8161D; }
.switch--shot-switch.switch--on .switch--knob { left: 22px; }
wx-image { display: inline-block; overflow: hidden; }
wx-image img { width: 100%; height: 100%; object-fit: contain; display: block; image-rendering: pixelated; }
wx-rich-text { display: block; }
wx-rich-text img { max-width: 100%; }
`;

/** Convert WXSS to CSS for the screenshot: rpx to px at 375 wide, `page` to the page root, classes prefixed. */
function wxssToCss(wxss, prefix) {
  const css = wxss.replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(-?\d*\.?\d+)rpx/g, (_, n) => `${+(Number(n) * RPX).toFixed(2)}px`);
  return css.split('}').map((chunk) => {
    const at = chunk.indexOf('{');
    if (at < 0) return chunk;
    const selector = chunk.slice(0, at).replace(/(^|[\s,>+~(])page(?=[\s,{:.[]|$)/g, '$1.page-root')
      .replace(/\.(?!page-root)([A-Za-z_][\w-]*)/g, `.${prefix}$1`);
    return `${selector}{${chunk.slice(at + 1)}`;
  }).join('}');
}

function escapeText(text) {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function escapeAttr(text) {
  return escapeText(text).replace(/"/g, '&quot;');
}

/** Serialize simulate's DOM with the stand-ins turned into plain HTML (an image's src, rich text's HTML). */
function serialize(node) {
  if (node.nodeType === 3) return escapeText(node.textContent);
  if (node.nodeType !== 1) return '';
  const cls = node.getAttribute('class') || '';
  if (/\bimage--shot-image\b/.test(cls)) {
    const src = node.getAttribute('data-src') || '';
    return src ? `<img src="${escapeAttr(src)}">` : '';
  }
  if (/\brich-text--shot-rich\b/.test(cls)) return `<div class="rich">${node.getAttribute('data-html') || ''}</div>`;
  const name = node.tagName.toLowerCase();
  const tag = RENAME[name] || name;
  const attrs = ['class', 'style'].filter((a) => node.getAttribute(a))
    .map((a) => ` ${a}="${escapeAttr(node.getAttribute(a))}"`).join('');
  const inner = Array.from(node.childNodes).map(serialize).join('');
  return `<${tag}${attrs}>${inner}</${tag}>`;
}

/** app.json's tab bar with its icon images (the selected one for this page), or '' on a page that is no tab. */
function tabBar(root, tabs, pagePath) {
  const index = tabs.findIndex((t) => t.pagePath === pagePath);
  if (index < 0) return '';
  return `<div class="tabbar">${tabs.map((t, i) => {
    const icon = pathToFileURL(path.join(root, i === index ? t.selectedIconPath : t.iconPath)).href;
    return `<div class="tab${i === index ? ' on' : ''}"><img src="${escapeAttr(icon)}" alt="">${escapeText(t.text)}</div>`;
  }).join('')}</div>`;
}

/** The whole HTML page for one rendered page. */
function pageHtml({ root, pagePath, dom }) {
  const read = (file) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '');
  const json = JSON.parse(read(path.join(root, `${pagePath}.json`)) || '{}');
  const app = JSON.parse(read(path.join(root, 'app.json')));
  const title = json.navigationBarTitleText || app.window.navigationBarTitleText;
  const tabs = app.tabBar.list;
  const isTab = tabs.some((t) => t.pagePath === pagePath);
  const css = BASE_CSS + wxssToCss(read(path.join(root, 'app.wxss')), 'main--')
    + wxssToCss(read(path.join(root, `${pagePath}.wxss`)), 'main--');
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><style>${css}</style></head><body>
<div class="frame"><div class="status"></div><div class="nav">${isTab ? '' : '<span class="back">‹</span>'}${escapeText(title)}
<span class="capsule">··· | ◎</span></div>
<div class="content"><div class="page-root" style="min-height:100%">${serialize(dom)}</div></div>${tabBar(root, tabs, pagePath)}</div>
</body></html>`;
}

module.exports = { pageHtml, wxssToCss, serialize, WIDTH };
