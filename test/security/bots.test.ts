import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { ApiClient } from '../../core/api/client.ts';
import { AckSchema } from '../../core/api/schemas.ts';
import { readIdentityFile } from '../../core/client/identityFile.ts';
import { newClientKeys } from '../../core/client/login.ts';
import { parseTlsCert } from '../../core/crypto/x509.ts';
import { addBot, botStartArgs, botToken, tpWithIdentity } from '../helpers/botFixture.ts';
import { tp } from '../helpers/cli.ts';
import { ssh } from '../helpers/sshd.ts';
import { auditEvents, me, PASSWORD, type SshFixture, startSshFixture } from '../helpers/sshFixture.ts';

let f: SshFixture;
let home: string;

beforeAll(async () => {
  f = await startSshFixture([{ name: 'node1' }], { secondFactor: 'off' });
  home = mkdtempSync(join(f.dir, 'empty-home-'));
  // A narrow role: SSH as the bot's logins, nothing else.
  await f.role(
    'metadata: {name: sshonly}\nspec:\n  allow: {logins: ["{{internal.logins}}"], node_labels: {"*": "*"}}\n',
  );
});
afterAll(async () => {
  await f.close();
});

/** Joins a new instance of `name` into a fresh directory and returns it. */
async function joinInstance(name: string, token: { token: string; caPin: string }): Promise<string> {
  const out = join(f.dir, `out-${Math.random().toString(36).slice(2)}`);
  const r = await tp(botStartArgs(f, token, out, ['--oneshot']));
  if (r.code !== 0) throw new Error(`bot start ${name}: ${r.stderr}`);
  return out;
}

/** `tp bot start --oneshot` on an existing output directory: renews with the identity in it. */
const renewIn = (out: string) =>
  tp(['bot', 'start', '--proxy', f.cluster.proxy.addr, '--out', out, '--oneshot'], { env: { TP_HOME: home } });

describe('bots are machines, not people', () => {
  test('a bot cannot log in with a password (CLI), refused with a clear message and audited', async () => {
    await addBot(f, 'nologin', ['--roles', 'sshonly', '--logins', me]);
    const r = await tp(
      ['login', '--proxy', f.cluster.proxy.addr, '--user', 'bot-nologin', '--password-stdin', '--insecure'],
      {
        env: { TP_HOME: mkdtempSync(join(f.dir, 'h-')) },
        stdin: PASSWORD,
      },
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('is a bot: bots cannot log in with a password');
    const fails = await auditEvents(f, 'user.login');
    expect(fails.some((e) => e.user === 'bot-nologin' && e.success === false && String(e.error).includes('bot'))).toBe(
      true,
    );
  });

  test('a bot cannot open a web UI session', async () => {
    const res = await fetch(`https://${f.cluster.proxy.addr}/webapi/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'bot-nologin', password: PASSWORD }),
      tls: { rejectUnauthorized: false },
    } as RequestInit);
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('is a bot');
  });

  test('an admin cannot give a bot a password through a sign-up link', async () => {
    const r = await f.admin(['users', 'reset', 'bot-nologin']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('is a bot');
  });

  test('a bot holds only the roles given at bots add, whatever it asks for at renewal', async () => {
    const t = await addBot(f, 'narrow', ['--roles', 'sshonly', '--logins', me]);
    const out = await joinInstance('narrow', t);
    const id = readIdentityFile(join(out, 'identity'));
    expect(parseTlsCert(id.tlsCert).organization).toEqual(['sshonly']);
    // Asking for more at renewal is refused at the edge (the body has no roles field).
    const api = new ApiClient([f.cluster.proxy.addr], {
      ca: id.tlsCa,
      cert: id.tlsCert,
      key: id.tlsKey,
      serverRole: 'proxy',
    });
    const keys = newClientKeys();
    const grab = await api
      .post(AckSchema, '/webapi/auth/v1/bots/renew', {
        sshPublicKey: keys.sshPublicKey,
        tlsPublicKey: keys.tlsPublicKey,
        roles: ['admin'],
      })
      .catch((err: Error) => err);
    expect(String(grab)).toContain('roles');
    // Its certificate does not reach admin APIs: listing users is refused.
    const users = await tpWithIdentity(out, home, ['users', 'ls']);
    expect(users.code).not.toBe(0);
    // A renewal keeps the same roles.
    expect((await renewIn(out)).code).toBe(0);
    expect(parseTlsCert(readIdentityFile(join(out, 'identity')).tlsCert).organization).toEqual(['sshonly']);
  });

  test('a bot join token cannot join a node, and a node token cannot join a bot', async () => {
    const t = await addBot(f, 'tokens', ['--roles', 'sshonly']);
    const node = await tp([
      'agent',
      'start',
      '--proxy',
      f.cluster.proxy.addr,
      '--token',
      t.token,
      '--ca-pin',
      t.caPin,
      '--data-dir',
      join(f.dir, 'agent-x'),
      '--name',
      'evil',
    ]);
    expect(node.code).not.toBe(0);
    expect(node.stderr).toContain('join token is for bot, not node');
    const nodeToken = JSON.parse((await f.admin(['tokens', 'add', '--type', 'node', '--format', 'json'])).stdout) as {
      token: string;
    };
    const bot = await tp(botStartArgs(f, { token: nodeToken.token, caPin: t.caPin }, join(f.dir, 'x'), ['--oneshot']));
    expect(bot.code).not.toBe(0);
    expect(bot.stderr).toContain('join token is for node, not bot');
  });
});

describe('renewal that survives theft', () => {
  test('a copied identity of an older generation used to renew locks that instance (audited); another goes on', async () => {
    const t = await addBot(f, 'ci', ['--roles', 'sshonly', '--logins', me]);
    const a = await joinInstance('ci', t);
    const b = await joinInstance('ci', await botToken(f, 'ci'));
    // The thief copies instance A's identity at generation 1.
    const stolen = join(f.dir, 'stolen');
    mkdirSync(stolen, { mode: 0o700 });
    copyFileSync(join(a, 'identity'), join(stolen, 'identity'));
    // A renews (generation 2); then the copy tries to renew with generation 1.
    expect((await renewIn(a)).code).toBe(0);
    const thief = await renewIn(stolen);
    expect(thief.code).not.toBe(0);
    expect(thief.stderr).toContain('the identity was copied');
    const instanceA = readIdentityFile(join(a, 'identity')).instance!;
    const locked = await auditEvents(f, 'bot.locked');
    expect(locked.some((e) => e.instance === instanceA && String(e.reason).includes('generation 1'))).toBe(true);
    // Instance A's certificates stop at once, through tp and through stock ssh (proxy and node check the lock).
    const cut = await tpWithIdentity(a, home, ['ssh', 'node1', 'echo should-not-run']);
    expect(cut.code).not.toBe(0);
    expect(cut.stdout).toBe('');
    expect(cut.stderr).toContain('the identity was copied');
    const cutSsh = await ssh(['-F', join(a, 'ssh_config'), '-o', 'BatchMode=yes', 'node1', 'echo should-not-run']);
    expect(cutSsh.code).not.toBe(0);
    expect(cutSsh.stdout).toBe('');
    const locks = await f.admin(['locks', 'ls']);
    expect(locks.stdout).toContain(`bot_instance:${instanceA}`);
    // Instance A is locked for good (its holder must rejoin with a new token); instance B renews on and works.
    const again = await renewIn(a);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('is locked');
    expect((await renewIn(b)).code).toBe(0);
    expect((await renewIn(b)).code).toBe(0);
    const ok = await tpWithIdentity(b, home, ['ssh', 'node1', 'echo still-ok']);
    expect(ok.stdout).toBe('still-ok\n');
  }, 60_000);

  test('tp bots rm stops the live certificates at once and the name cannot be reused meanwhile (audited)', async () => {
    const t = await addBot(f, 'gone', ['--roles', 'sshonly', '--logins', me]);
    const out = await joinInstance('gone', t);
    expect((await tpWithIdentity(out, home, ['ssh', 'node1', 'true'])).code).toBe(0);
    expect((await f.admin(['bots', 'rm', 'gone'])).code).toBe(0);
    const after = await tpWithIdentity(out, home, ['ssh', 'node1', 'echo should-not-run']);
    expect(after.code).not.toBe(0);
    expect(after.stdout).toBe('');
    expect((await renewIn(out)).code).not.toBe(0);
    const again = await f.admin(['bots', 'add', 'gone', '--roles', 'sshonly']);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('was deleted');
    expect((await auditEvents(f, 'bot.delete')).some((e) => e.bot === 'gone')).toBe(true);
  });

  test('tp bots lock stops every instance of the bot, audited', async () => {
    const t = await addBot(f, 'lockme', ['--roles', 'sshonly', '--logins', me]);
    const out = await joinInstance('lockme', t);
    expect((await f.admin(['bots', 'lock', 'lockme', '--message', 'compromised runner'])).code).toBe(0);
    const r = await renewIn(out);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('compromised runner');
    const ssh = await tpWithIdentity(out, home, ['ssh', 'node1', 'true']);
    expect(ssh.code).not.toBe(0);
    expect((await auditEvents(f, 'bot.locked')).some((e) => e.bot === 'lockme')).toBe(true);
  });
});
