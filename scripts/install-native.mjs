#!/usr/bin/env node
// Runs on `npm install`: use a prebuilt binary when one loads, else build the addon with
// cmake-js (the primary build), else with node-gyp (binding.gyp, same sources).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

async function loads() {
  let addon;
  try {
    addon = require('node-gyp-build')(root);
  } catch {
    return false;
  }
  // a binary built from older sources loads too: the package's own loader knows every call it needs
  // (dist is there in an installed package; a fresh clone has no binary to check anyway)
  const loader = join(root, 'dist', 'backend', 'cpu', 'addon.js');
  if (!existsSync(loader)) return true;
  const { missingAddonExports } = await import(pathToFileURL(loader).href);
  const missing = missingAddonExports(addon);
  if (missing.length > 0) console.log(`ncgpu: the prebuilt addon is out of date (no ${missing[0]}); building from source`);
  return missing.length === 0;
}

function run(cmd, args) {
  console.log(`ncgpu: ${cmd} ${args.join(' ')}`);
  return spawnSync(cmd, args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' }).status === 0;
}

if (process.env.NCGPU_SKIP_NATIVE_BUILD === '1') process.exit(0);
if (!process.env.NCGPU_FORCE_NATIVE_BUILD && (await loads())) process.exit(0);

const haveCmake = spawnSync('cmake', ['--version'], { stdio: 'ignore' }).status === 0;
if (haveCmake && run(process.execPath, [require.resolve('cmake-js/bin/cmake-js'), 'compile'])) process.exit(0);
if (!haveCmake) console.log('ncgpu: cmake not found; building with node-gyp instead');
else console.log('ncgpu: the cmake-js build failed; trying node-gyp');
// node-gyp is a dev dependency here; in a user's install npm puts its own node-gyp on PATH
let gypBuilt;
try {
  gypBuilt = run(process.execPath, [require.resolve('node-gyp/bin/node-gyp.js'), 'rebuild']);
} catch {
  gypBuilt = run('node-gyp', ['rebuild']);
}
if (gypBuilt) process.exit(0);
console.error(
  "ncgpu: could not build the native addon. It needs a C++17 compiler and OpenBLAS: 'sudo apt-get install -y build-essential cmake libopenblas-dev' (Debian/Ubuntu) or 'brew install openblas' (macOS).",
);
process.exit(1);
