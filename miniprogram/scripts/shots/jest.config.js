// jest config of the screenshot run only (not part of `npm test`): the same harness — the real backend with the
// demo seed on free ports and a real-HTTP wx.request — driving shoot.js.
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
module.exports = {
  rootDir: ROOT,
  testEnvironment: 'jsdom',
  testMatch: ['<rootDir>/scripts/shots/shoot.js'],
  globalSetup: '<rootDir>/tests/harness/setup.js',
  globalTeardown: '<rootDir>/tests/harness/teardown.js',
  setupFilesAfterEnv: ['<rootDir>/tests/harness/each.js'],
  testTimeout: 300000,
  maxWorkers: 1,
};
