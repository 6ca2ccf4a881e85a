// jest globalTeardown: stop the API and the fake WeChat the setup started, and remove their temp directory.
const fs = require('node:fs');

module.exports = async function teardown() {
  const backend = globalThis.__BS_BACKEND__;
  if (!backend) return;
  backend.stop();
  await new Promise((resolve) => setTimeout(resolve, 200));
  if (!process.env.BS_KEEP_BACKEND) fs.rmSync(backend.dir, { recursive: true, force: true });
};
