#!/usr/bin/env node
// Makes `npm start` / `npm test` work on a machine that has only Node and npm:
// installs the npm dependencies (Bun among them) when they are missing or older than package-lock.json.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const marker = join(root, 'node_modules', '.package-lock.json');
const lock = join(root, 'package-lock.json');
const bun = join(root, 'node_modules', '.bin', 'bun');

const stale =
  !existsSync(bun) || !existsSync(marker) || (existsSync(lock) && statSync(lock).mtimeMs > statSync(marker).mtimeMs);
if (stale) {
  console.error('tp: installing dependencies (first run) ...');
  execFileSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
}
