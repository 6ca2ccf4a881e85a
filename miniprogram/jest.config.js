// The Node suite: pages rendered with miniprogram-simulate in jsdom, against the real backend the harness starts.
module.exports = {
  testEnvironment: 'jsdom',
  testMatch: ['<rootDir>/tests/**/*.test.js'],
  globalSetup: '<rootDir>/tests/harness/setup.js',
  globalTeardown: '<rootDir>/tests/harness/teardown.js',
  setupFilesAfterEnv: ['<rootDir>/tests/harness/each.js'],
  testTimeout: 30000,
  maxWorkers: 2,
};
