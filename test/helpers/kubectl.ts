// Runs stock kubectl against a test server: a fresh HOME and cache per home directory (kubectl caches version and
// discovery, and the dispatcher picks its binary by the cached version), a kubeconfig written here.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CliResult, run } from './cli.ts';

/** How a kubeconfig reaches its server. */
export interface KubeconfigSpec {
  server: string;
  caPem: string;
  tlsServerName?: string;
  /** Client certificate and key files, or a bearer token. */
  certPath?: string;
  keyPath?: string;
  token?: string;
}

/** A scratch HOME with a kubeconfig in it, and kubectl runs that use only it. */
export interface KubectlHome {
  dir: string;
  kubeconfig: string;
  /** Runs `kubectl` (the dispatcher, or `binary` such as `kubectl.1.29`) with this home's config and cache. */
  kubectl(args: string[], opts?: { stdin?: string; binary?: string }): Promise<CliResult>;
  /** The argument list and environment of such a run, for tests that drive the process themselves. */
  command(args: string[], binary?: string): { cmd: string[]; env: Record<string, string> };
}

/** Makes a fresh home whose kubeconfig names one cluster, user and current context `test`. */
export function kubectlHome(spec: KubeconfigSpec): KubectlHome {
  const dir = mkdtempSync(join(tmpdir(), 'tp-kubectl-'));
  mkdirSync(join(dir, '.kube'), { recursive: true });
  const kubeconfig = join(dir, '.kube', 'config');
  const user: Record<string, string> = spec.token
    ? { token: spec.token }
    : { 'client-certificate': spec.certPath ?? '', 'client-key': spec.keyPath ?? '' };
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'test',
        cluster: {
          server: spec.server,
          'certificate-authority-data': Buffer.from(spec.caPem).toString('base64'),
          ...(spec.tlsServerName ? { 'tls-server-name': spec.tlsServerName } : {}),
        },
      },
    ],
    users: [{ name: 'test', user }],
    contexts: [{ name: 'test', context: { cluster: 'test', user: 'test', namespace: 'default' } }],
    'current-context': 'test',
  };
  writeFileSync(kubeconfig, JSON.stringify(config), { mode: 0o600 });
  const command = (args: string[], binary = 'kubectl') => ({
    cmd: [binary, '--cache-dir', join(dir, 'cache'), ...args],
    env: { HOME: dir, KUBECONFIG: kubeconfig },
  });
  return {
    dir,
    kubeconfig,
    command,
    kubectl: (args, opts = {}) => {
      const c = command(args, opts.binary);
      return run(c.cmd, { env: c.env, stdin: opts.stdin });
    },
  };
}
