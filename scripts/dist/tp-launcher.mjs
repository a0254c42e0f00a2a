#!/usr/bin/env node
// The installed `tp` command. The CLI is one bundle (lib/tp.js, patched ssh2 inlined) that runs on Bun: under Bun
// (bunx) it is imported here; under Node (npx, npm install -g) it runs on the Bun binary of the `bun` dependency.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'lib', 'tp.js');

if (process.versions.bun) {
  await import(cli);
} else {
  let bun;
  try {
    bun = join(dirname(createRequire(import.meta.url).resolve('bun/package.json')), 'bin', 'bun.exe');
  } catch (err) {
    process.stderr.write(`tp: the bun dependency is missing (${err.message}); reinstall tp\n`);
    process.exit(1);
  }
  // Bun reads .env and bunfig.toml (whose `preload` runs code) from the current directory and may auto-install
  // packages it cannot resolve: tp takes none of that from wherever it happens to run.
  const safe = ['--no-env-file', '--config=/dev/null', '--no-install'];
  const child = spawn(bun, [...safe, cli, ...process.argv.slice(2)], { stdio: 'inherit' });
  // A terminal's ^C and ^\ reach the whole process group, tp included: here they only must not end the launcher
  // first. SIGTERM and SIGHUP sent to this pid alone (kill, a service manager) are passed on.
  const waitForTp = () => undefined;
  for (const sig of ['SIGINT', 'SIGQUIT']) process.on(sig, waitForTp);
  for (const sig of ['SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  child.on('error', (err) => {
    process.stderr.write(`tp: cannot start ${bun}: ${err.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    } else process.exit(code ?? 1);
  });
}
