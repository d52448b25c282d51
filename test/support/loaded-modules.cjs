// Preloaded into a solvermesh process (NODE_OPTIONS=--require ...) by the compiled-code spec: at
// exit it writes the path of every module the process loaded, so the spec can tell whether a
// TypeScript loader or a .ts source was among them.
'use strict';
const { writeFileSync } = require('node:fs');
const out = process.env.LOADED_MODULES_FILE;
if (out) process.on('exit', () => writeFileSync(out, JSON.stringify({ main: process.argv[1] ?? null, modules: Object.keys(require.cache), execArgv: process.execArgv, node: process.version })));
