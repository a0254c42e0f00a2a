import { homedir, hostname } from 'node:os';
import { join } from 'node:path';
import type { Config } from './schema.ts';

/** The data dir when neither --data-dir, TP_DATA_DIR nor tp.yaml names one: /var/lib/tp for root, else ~/.local/share/tp. */
export function defaultDataDir(): string {
  return process.env.TP_DATA_DIR || userDataDir();
}

/** The built-in data dir for the user running tp: /var/lib/tp for root, else ~/.local/share/tp. */
export function userDataDir(): string {
  return process.getuid?.() === 0 ? '/var/lib/tp' : join(homedir(), '.local', 'share', 'tp');
}

/** The cluster name when none is configured: this host's name. */
export function defaultClusterName(): string {
  return (
    hostname()
      .toLowerCase()
      .replace(/[^a-z0-9.-]/g, '-') || 'tp'
  );
}

export const DEFAULT_AUTH_LISTEN = '127.0.0.1:3025';
export const DEFAULT_PROXY_LISTEN = '0.0.0.0:3080';
export const DEFAULT_PROXY_SSH_LISTEN = '0.0.0.0:3023';
export const DEFAULT_SSH_LISTEN = '127.0.0.1:3022';

/** The config an empty tp.yaml parses to (all-in-one); kept equal to the schema's defaults by a test. */
export function defaultConfig(): Config {
  return {
    auth: { enabled: true, second_factor: 'otp', session_recording: 'node' },
    proxy: { enabled: true, web_session_ttl: '12h' },
    ssh: { enabled: true, labels: {}, commands: [] },
    storage: { type: 'sqlite' },
  };
}
