#!/usr/bin/env node
// Builds Kiln's native addon (native/build/Release/kiln.node) against libtorch: the package's
// install script, and the command to run by hand where npm did not run it (npm 11 runs a
// dependency's install script only once approved: `npm install-scripts approve kiln`, then
// `npm rebuild kiln`).
//   node node_modules/kiln/scripts/build-addon.cjs
// LIBTORCH=/path/to/libtorch picks an official libtorch; otherwise Debian's libtorch-dev (/usr).
'use strict';
const { existsSync } = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.join(__dirname, '..');
const addon = path.join(root, 'native', 'build', 'Release', 'kiln.node');
const say = (line) => process.stderr.write(`[kiln] ${line}\n`);

const libtorch = process.env.LIBTORCH || '/usr';
if (!existsSync(path.join(libtorch, 'include', 'torch', 'csrc', 'api', 'include', 'torch', 'torch.h'))) {
  say(`libtorch's headers are not at ${libtorch}/include: the native addon cannot be built yet.`);
  say("Install libtorch (Debian/Ubuntu: 'sudo apt-get install libtorch-dev'; elsewhere unpack an official");
  say("libtorch and set LIBTORCH=/path/to/libtorch), then run: node node_modules/kiln/scripts/build-addon.cjs");
  // The package stays installed; importing it says the same until the addon is built.
  process.exit(0);
}
try {
  require.resolve('node-addon-api'); // binding.gyp reads its include folder
} catch {
  say('node-addon-api (a dependency of kiln) is missing; reinstall kiln');
  process.exit(1);
}
say(`building the native addon against libtorch in ${libtorch} (a few minutes)`);
// npm puts its bundled node-gyp on PATH for install scripts; by hand, npx finds or fetches it.
const inScript = process.env.npm_lifecycle_event === 'install';
const [command, args] = inScript ? ['node-gyp', ['rebuild', '-C', 'native']] : ['npx', ['--yes', 'node-gyp', 'rebuild', '-C', 'native']];
const result = spawnSync(command, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
if (result.status !== 0 || !existsSync(addon)) {
  say(`the native build failed (${result.error ? result.error.message : `exit ${result.status}`}); its output is above`);
  process.exit(1);
}
say(`built ${path.relative(root, addon)}`);
