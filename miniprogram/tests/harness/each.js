// Before each test file: miniprogram-simulate's globals, then the harness phone on top of them.
require('miniprogram-simulate');
const { installWx, resetPhone } = require('./wx');

installWx();
beforeEach(() => resetPhone());
