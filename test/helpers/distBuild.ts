import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CliResult, run } from './cli.ts';
import { me, PASSWORD, type SshFixture } from './sshFixture.ts';

const script = join(import.meta.dir, '..', '..', 'scripts', 'dist.ts');

/** Runs scripts/dist.ts with these steps into a fresh directory; returns the directory and the paths it printed. */
export async function runDist(steps: string[]): Promise<{ dir: string; outputs: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'tp-dist-'));
  const r = await run([process.execPath, script, ...steps, '--out', dir]);
  if (r.code !== 0) throw new Error(`dist ${steps.join(' ')} exited ${r.code}: ${r.stderr}`);
  return { dir, outputs: r.stdout.trim().split('\n') };
}

/**
 * Drives an installed tp (the command line `tp` stands for, with its environment) as a user would: `tp version`,
 * `tp login` to the fixture's proxy as a new user, then `tp ssh <node> echo ok`. Returns each step's result and
 * the TP_HOME the user is logged in with.
 */
export async function installedFlow(
  f: SshFixture,
  tpCmd: string[],
  env: Record<string, string>,
  node: string,
): Promise<{ version: CliResult; login: CliResult; ssh: CliResult; home: string }> {
  const user = `dist${Math.random().toString(36).slice(2, 8)}`;
  const add = await f.admin(['users', 'add', user, '--roles', 'ops', '--logins', me, '--password-stdin'], PASSWORD);
  if (add.code !== 0) throw new Error(`users add: ${add.stderr}`);
  const home = mkdtempSync(join(f.dir, 'tp-dist-home-')); // removed with the fixture
  const opts = { env: { ...env, TP_HOME: home } };
  const version = await run([...tpCmd, 'version'], opts);
  const login = await run(
    [...tpCmd, 'login', '--proxy', f.cluster.proxy.addr, '--user', user, '--password-stdin', '--insecure'],
    { ...opts, stdin: PASSWORD },
  );
  const ssh = await run([...tpCmd, 'ssh', node, 'echo ok'], opts);
  return { version, login, ssh, home };
}
