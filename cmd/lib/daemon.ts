import { defaultConfig } from '../../core/config/defaults.ts';
import { privateUmask } from '../../core/config/privateDir.ts';
import type { Config } from '../../core/config/schema.ts';
import { log } from '../../core/log.ts';

/**
 * Loads --config when given (with the sections of the build's plugins), else the all-in-one defaults (YAML and
 * schema code load only when a file is read).
 * Every server command starts here, so from here on the process creates its files private (umask 077).
 */
export async function configFrom(path: string | undefined): Promise<Config> {
  privateUmask();
  if (!path) return defaultConfig();
  const { loadConfig } = await import('../../core/config/load.ts');
  const { loadRegistry } = await import('../../core/plugin/registry.ts');
  const { PLUGINS } = await import('../../plugins/index.ts');
  return loadConfig(path, (await loadRegistry(PLUGINS)).sections());
}

/**
 * Runs a server process: listens for SIGINT/SIGTERM first, builds the server with `start`, lets `ready` print
 * (skipped when a signal came during start-up), then on the signal closes the server once and exits 0.
 */
export async function runUntilSignal<T extends { close(): Promise<void> }>(
  start: () => Promise<T>,
  ready: (server: T) => void | Promise<void>,
): Promise<void> {
  let signal: string | undefined;
  // Handlers stay installed while closing: a repeated signal must not fall back to the default (kill at once).
  const signalled = new Promise<string>((resolve) => {
    const stop = (why: string) => {
      signal ??= why;
      resolve(why);
    };
    for (const name of ['SIGINT', 'SIGTERM'] as const) process.on(name, () => stop(name));
    if (process.env.npm_lifecycle_event) watchParent(() => stop('npm exited'));
  });
  const server = await start();
  if (!signal) await ready(server);
  log.info('shutting down', { signal: await signalled });
  await server.close();
  process.exit(0);
}

/**
 * Under `npm start` the server must not outlive npm, even when npm is killed without forwarding a signal: calls
 * `onGone` once this process's parent has changed (checked every second).
 */
function watchParent(onGone: () => void): void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onGone();
  }, 1000);
  timer.unref();
}
