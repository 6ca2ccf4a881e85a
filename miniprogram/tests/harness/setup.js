// jest globalSetup: one real backend for the whole run; its addresses go to the test files through a JSON file.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startBackend } = require('./backend');

module.exports = async function setup() {
  const backend = await startBackend();
  const file = path.join(backend.dir, 'backend.json');
  fs.writeFileSync(file, JSON.stringify({ apiBase: backend.apiBase, fakeBase: backend.fakeBase, dir: backend.dir,
    databaseUrl: backend.env.DATABASE_URL }));
  process.env.BS_BACKEND_FILE = file;
  globalThis.__BS_BACKEND__ = backend;
};
