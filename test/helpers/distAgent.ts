import type { SshFixture } from './sshFixture.ts';

/** A `tp agent start` process started from a built artifact, stopped with `stop()`. */
export interface SpawnedAgent {
  /** Its stdout so far (the "agent <id> running" line once joined). */
  output(): string;
  /** Its stderr so far (its log). */
  errors(): string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * Starts `tp agent start` from `cmd` (a binary, or an emulator and a binary) joining the fixture's proxy with a
 * fresh node token and the CA pin, and waits (up to `ms`) for it to say it is running and for its tunnel to be up.
 */
export async function spawnAgent(
  f: SshFixture,
  cmd: string[],
  o: { name: string; dataDir: string; env?: Record<string, string>; ms: number; args?: string[] },
): Promise<SpawnedAgent> {
  const token = JSON.parse((await f.admin(['tokens', 'add', '--type', 'node', '--format', 'json'])).stdout) as {
    token: string;
    ca_pin: string;
  };
  const child = Bun.spawn(
    [
      ...cmd,
      'agent',
      'start',
      '--proxy',
      f.cluster.proxy.addr,
      '--token',
      token.token,
      '--ca-pin',
      token.ca_pin,
    ].concat(['--name', o.name, '--data-dir', o.dataDir], o.args ?? []),
    { env: { ...process.env, ...o.env }, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' },
  );
  let out = '';
  let err = '';
  const dec = new TextDecoder();
  void (async () => {
    for await (const c of child.stdout) out += dec.decode(c, { stream: true });
  })();
  void (async () => {
    for await (const c of child.stderr) err += dec.decode(c, { stream: true });
  })();
  const stop = async () => {
    child.kill('SIGTERM');
    await child.exited;
  };
  const deadline = Date.now() + o.ms;
  for (;;) {
    const hostId = /agent (\S+) running/.exec(out)?.[1];
    if (hostId && f.cluster.proxy.tunnels.has(hostId)) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`agent ${o.name} did not come up (exit ${child.exitCode}): ${out}${err}`);
    }
    await Bun.sleep(100);
  }
  return { output: () => out, errors: () => err, pid: child.pid, stop };
}
