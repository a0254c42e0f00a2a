import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CliResult, run } from './cli.ts';

export const SSHD = ['/usr/sbin/sshd', '/usr/bin/sshd'].find((p) => existsSync(p));

/** A free TCP port on 127.0.0.1 (sshd cannot report the port it got, so we pick one). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A stock OpenSSH sshd on 127.0.0.1, configured by `extra` lines; stops with close(). */
export interface Sshd extends AsyncDisposable {
  port: number;
  dir: string;
  log: () => string;
  close(): Promise<void>;
}

/** Starts sshd in the foreground with its own host key and the given config lines. */
export async function startSshd(extra: string[]): Promise<Sshd> {
  if (!SSHD) throw new Error('OpenSSH sshd is not installed (apt-get install openssh-server; .ci/run does it)');
  const dir = mkdtempSync(join(tmpdir(), 'tp-sshd-'));
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true });
  const hostKey = join(dir, 'host_ed25519');
  Bun.spawnSync(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  const port = await freePort();
  const config = [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${hostKey}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    'AuthorizedKeysFile none',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'StrictModes no',
    'LogLevel VERBOSE',
    ...extra,
  ];
  writeFileSync(join(dir, 'sshd_config'), `${config.join('\n')}\n`);
  let logText = '';
  const child = Bun.spawn([SSHD, '-D', '-e', '-f', join(dir, 'sshd_config')], { stdout: 'ignore', stderr: 'pipe' });
  const decoder = new TextDecoder();
  void (async () => {
    for await (const c of child.stderr) logText += decoder.decode(c);
  })();
  const deadline = Date.now() + 10_000;
  while (!logText.includes('Server listening')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`sshd did not start: ${logText}`);
    await Bun.sleep(20);
  }
  const close = async () => {
    child.kill();
    await child.exited;
    rmSync(dir, { recursive: true, force: true });
  };
  return { port, dir, log: () => logText, close, [Symbol.asyncDispose]: close };
}

/** Runs stock `ssh` non-interactively with no config files, no agent and strict options; returns the result. */
export function ssh(args: string[]): Promise<CliResult> {
  return run([
    'ssh',
    '-F',
    'none',
    '-o',
    'BatchMode=yes',
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'IdentityAgent=none',
    '-o',
    'ConnectTimeout=10',
    ...args,
  ]);
}
