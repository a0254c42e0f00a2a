// `just bench` bots section: a bot's `ssh -F DIR/ssh_config node1 true` (ProxyCommand `tp -i DIR/identity proxy ssh`)
// beside `ssh -J` through the proxy's SSH jump port to the same node with the same bot certificate, one at a time
// and 20 in parallel (Ansible's default forks).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseHostPort } from '../../core/net/index.ts';
import { type BenchCluster, me, runOk } from './cluster.ts';
import { median } from './ssh.ts';
import type { Row } from './table.ts';

/** Wall time (ms) of `n` runs of `cmd` started together; throws if any fails. */
async function parallel(n: number, cmd: string[]): Promise<number> {
  const t0 = performance.now();
  await Promise.all(Array.from({ length: n }, () => runOk(cmd)));
  return performance.now() - t0;
}

/** Joins a bot (--oneshot), then times its ssh_config beside `ssh -J` to node1. */
export async function benchBots(c: BenchCluster): Promise<Row[]> {
  const admin = ['--data-dir', c.dataDir];
  const add = await c.tp([
    'bots',
    'add',
    'bench-bot',
    '--roles',
    'admin',
    '--logins',
    me,
    '--format',
    'json',
    ...admin,
  ]);
  if (add.code !== 0) throw new Error(`bots add: ${add.stderr}`);
  const { token, ca_pin: caPin } = JSON.parse(add.stdout) as { token: string; ca_pin: string };
  const out = join(c.dir, 'bot');
  const start = await c.tp([
    'bot',
    'start',
    '--proxy',
    c.proxy,
    '--token',
    token,
    '--ca-pin',
    caPin,
    '--out',
    out,
    '--oneshot',
  ]);
  if (start.code !== 0) throw new Error(`bot start: ${start.stderr}`);
  const ping = (await (
    await fetch(`https://${c.proxy}/webapi/ping`, { tls: { rejectUnauthorized: false } } as RequestInit)
  ).json()) as { sshJump: string };
  const [jumpHost, jumpPort] = parseHostPort(ping.sshJump);
  const ids = [
    `  UserKnownHostsFile ${join(out, 'known_hosts')}`,
    `  IdentityFile ${join(out, 'key')}`,
    `  CertificateFile ${join(out, 'key-cert.pub')}`,
    '  IdentitiesOnly yes',
    '  StrictHostKeyChecking yes',
    '  BatchMode yes',
    `  User ${me}`,
  ].join('\n');
  const jumpCfg = join(c.dir, 'bot_jump_config');
  writeFileSync(
    jumpCfg,
    `Host tp-jump\n  HostName ${jumpHost}\n  Port ${jumpPort}\n${ids}\nHost node1\n  ProxyJump tp-jump\n${ids}\n`,
  );
  const viaConfig = ['ssh', '-F', join(out, 'ssh_config'), '-o', 'BatchMode=yes', 'node1', 'true'];
  const viaJump = ['ssh', '-F', jumpCfg, 'node1', 'true'];
  const one = await median(7, () => runOk(viaConfig));
  const oneJump = await median(7, () => runOk(viaJump));
  const par = await parallel(20, viaConfig);
  const parJump = await parallel(20, viaJump);
  return [
    {
      figure: 'bot: ssh -F DIR/ssh_config node1 true (tp proxy ssh ProxyCommand)',
      tp: one,
      reference: oneJump,
      referenceName: 'ssh -J jump port',
      unit: 'ms',
      higherIsBetter: false,
    },
    {
      figure: 'bot: 20 parallel ssh -F DIR/ssh_config node1 true, wall time',
      tp: par,
      reference: parJump,
      referenceName: '20 × ssh -J jump port',
      unit: 'ms',
      higherIsBetter: false,
    },
  ];
}
