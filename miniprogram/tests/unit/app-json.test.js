// Every page a push links to exists at exactly that path, and app.json declares only pages that exist.
const fs = require('node:fs');
const path = require('node:path');
const { ROOT } = require('../harness/page');

const REPO = path.resolve(ROOT, '..');
const app = JSON.parse(fs.readFileSync(path.join(ROOT, 'app.json'), 'utf8'));

function backendPagePaths() {
  const found = new Set();
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.py')) {
        for (const m of fs.readFileSync(full, 'utf8').matchAll(/["'](pages\/[a-z_/-]+)/g)) found.add(m[1]);
      }
    }
  };
  ['notifications', 'quizzes', 'learning', 'quotas', 'members', 'core'].forEach((room) => walk(path.join(REPO, room)));
  return [...found];
}

test('every page the backend links to is declared in app.json', () => {
  const linked = backendPagePaths();
  expect(linked).toEqual(expect.arrayContaining(['pages/study/index', 'pages/quiz/index', 'pages/quiz/result']));
  linked.forEach((page) => expect(app.pages).toContain(page));
});

test('every declared page has its four files and the tab bar points at declared pages', () => {
  app.pages.forEach((page) => {
    ['js', 'json', 'wxml', 'wxss'].forEach((ext) => {
      expect(fs.existsSync(path.join(ROOT, `${page}.${ext}`))).toBe(true);
    });
  });
  expect(app.tabBar.list.map((t) => t.text)).toEqual(['学习', '测验', '1+4+1', '我的']);
  app.tabBar.list.forEach((t) => expect(app.pages).toContain(t.pagePath));
});

test('every tab has its two icons, each a PNG under WeChat\'s 40 KB limit', () => {
  app.tabBar.list.forEach((t) => {
    [t.iconPath, t.selectedIconPath].forEach((icon) => {
      expect(icon).toMatch(/^images\/tab\/[a-z-]+\.png$/);
      const file = path.join(ROOT, icon);
      expect(fs.existsSync(file)).toBe(true);
      expect(fs.statSync(file).size).toBeLessThan(40 * 1024);
      expect(fs.readFileSync(file).subarray(1, 4).toString()).toBe('PNG');
    });
  });
});
