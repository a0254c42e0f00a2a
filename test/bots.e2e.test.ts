import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readIdentityFile } from '../core/client/identityFile.ts';
import { addBot, botStartArgs, type TestBot, tpWithIdentity } from './helpers/botFixture.ts';
import { tp } from './helpers/cli.ts';
import { ssh } from './helpers/sshd.ts';
import { auditEvents, me, type SshFixture, startSshFixture } from './helpers/sshFixture.ts';

let f: SshFixture;
let bot: TestBot;
let out: string;
let home: string;

beforeAll(async () => {
  f = await startSshFixture([{ name: 'node1', labels: { env: 'dev' } }]);
  bot = await addBot(f, 'deploy', ['--roles', 'ops', '--logins', me, '--ttl', '1h']);
  out = join(f.dir, 'bot-out');
  home = mkdtempSync(join(f.dir, 'empty-home-'));
  const r = await tp(botStartArgs(f, bot, out, ['--oneshot']));
  if (r.code !== 0) throw new Error(`bot start: ${r.stderr}`);
});
afterAll(async () => {
  await f.close();
});

describe('a bot joined with a token (tp bot start --oneshot)', () => {
  test('writes its outputs 0600 in a 0700 directory, and the join is audited', async () => {
    expect(statSync(out).mode & 0o777).toBe(0o700);
    for (const name of ['identity', 'ssh_config', 'known_hosts', 'key', 'key-cert.pub'])
      expect(statSync(join(out, name)).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(out, 'known_hosts'), 'utf8')).toStartWith('@cert-authority * ssh-ed25519 ');
    const config = readFileSync(join(out, 'ssh_config'), 'utf8');
    expect(config).toContain(`ProxyCommand "${process.execPath}"`);
    expect(config).toContain('StrictHostKeyChecking yes');
    expect(config).toMatch(/^Host node1 /m);
    const joins = await auditEvents(f, 'bot.join');
    expect(joins.some((e) => e.user === 'bot-deploy' && e.success === true)).toBe(true);
    expect((await auditEvents(f, 'bot.create')).length).toBe(1);
  });

  test('the token is single use', async () => {
    const again = await tp(botStartArgs(f, bot, join(f.dir, 'bot-again'), ['--oneshot']));
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('already used');
  });

  test('tp -i DIR/identity ssh node1 echo ok prints ok, with no profile', async () => {
    const r = await tpWithIdentity(out, home, ['ssh', 'node1', 'echo ok']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('ok\n');
    expect(r.code).toBe(0);
  });

  test('TP_IDENTITY works like -i; tp ls --format json lists the node', async () => {
    const r = await tp(['ls', '--format', 'json'], { env: { TP_HOME: home, TP_IDENTITY: join(out, 'identity') } });
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { name: string }[]).map((n) => n.name)).toEqual(['node1']);
  });

  test('stock ssh -F DIR/ssh_config -o StrictHostKeyChecking=yes node1 true works from another directory', async () => {
    const r = await ssh(['-F', join(out, 'ssh_config'), '-o', 'StrictHostKeyChecking=yes', 'node1', 'true']);
    expect(r.stderr).not.toContain('Host key verification failed');
    expect(r.code).toBe(0);
  });

  test('20 parallel stock ssh runs all succeed', async () => {
    const t0 = performance.now();
    const runs = await Promise.all(
      Array.from({ length: 20 }, (_, i) => ssh(['-F', join(out, 'ssh_config'), 'node1', `echo run${i}`])),
    );
    const ms = performance.now() - t0;
    for (const [i, r] of runs.entries()) {
      expect(r.stdout).toBe(`run${i}\n`);
      expect(r.code).toBe(0);
    }
    process.stderr.write(`bots: 20 parallel ssh -F DIR/ssh_config node1 in ${Math.round(ms)} ms\n`);
  }, 60_000);

  test('a renewal follows a CA rotation: the new CAs are trusted, then the new CA signs, and ssh goes on', async () => {
    const renew = () => tp(['bot', 'start', '--proxy', f.cluster.proxy.addr, '--out', out, '--oneshot']);
    expect((await f.admin(['rotate', 'start', '--type', 'all', '--manual'])).code).toBe(0);
    expect((await renew()).code).toBe(0);
    const during = readIdentityFile(join(out, 'identity'));
    expect(during.tlsCa.length).toBe(2);
    expect(during.hostCa.length).toBe(2);
    expect(readFileSync(join(out, 'known_hosts'), 'utf8').trim().split('\n').length).toBe(2);
    const signer = (cert: string, cas: string[]) =>
      cas.findIndex((ca) => new X509Certificate(cert).verify(new X509Certificate(ca).publicKey));
    const oldSigner = during.tlsCa[signer(during.tlsCert, during.tlsCa)];
    expect((await f.admin(['rotate', 'phase', 'update_clients'])).code).toBe(0);
    expect((await renew()).code).toBe(0);
    const after = readIdentityFile(join(out, 'identity'));
    expect(after.tlsCa[signer(after.tlsCert, after.tlsCa)]).not.toBe(oldSigner);
    expect((await tpWithIdentity(out, home, ['ssh', 'node1', 'echo rotated'])).stdout).toBe('rotated\n');
    expect((await ssh(['-F', join(out, 'ssh_config'), 'node1', 'true'])).code).toBe(0);
  }, 30_000);

  test('tp bots ls shows the bot and its instance', async () => {
    const r = await f.admin(['bots', 'ls', '--format', 'json']);
    expect(r.code).toBe(0);
    const bots = JSON.parse(r.stdout) as { name: string; roles: string[]; instances: { generation: number }[] }[];
    expect(bots.map((b) => [b.name, b.roles, b.instances.length])).toEqual([['deploy', ['ops'], 1]]);
  });
});
