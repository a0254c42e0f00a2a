#!/usr/bin/env node
// Makes `npm start` / `npm test` work on a machine that has only Node and npm:
// 1. installs the npm dependencies (Bun among them) when missing or older than package-lock.json;
// 2. applies tp's patches in patches/<pkg>@<version>.patch (npm ignores package.json "patchedDependencies").
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
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

// Each patch names the exact version it was made against; a patch for another version is an error, never skipped.
const patches = join(root, 'patches');
for (const file of existsSync(patches) ? readdirSync(patches).filter((f) => f.endsWith('.patch')) : []) {
  const m = /^(.+)@([^@]+)\.patch$/.exec(file);
  if (!m) continue;
  const [, name, version] = m;
  const dir = join(root, 'node_modules', name);
  const installed = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;
  if (installed !== version) {
    console.error(`tp: ${file} is for ${name}@${version} but ${installed} is installed; pin ${name} to ${version}`);
    process.exit(1);
  }
  const patchPath = join(patches, file);
  const run = (args) => execFileSync('patch', ['-p1', '-s', '-d', dir, '-i', patchPath, ...args], { stdio: 'pipe' });
  try {
    run(['--dry-run', '-R', '-f']);
    continue; // already applied: the reverse applies cleanly
  } catch {
    // not applied yet: apply it below
  }
  try {
    run(['-N']);
    console.error(`tp: applied ${file}`);
  } catch (err) {
    console.error(`tp: could not apply ${file}: ${err.stdout ?? ''}${err.stderr ?? ''}`);
    process.exit(1);
  }
}
