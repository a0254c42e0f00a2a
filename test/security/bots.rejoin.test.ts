import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { newBotKeys, rejoinBot } from '../../core/bot/join.ts';
import { readIdentityFile } from '../../core/client/identityFile.ts';
import { parseCert } from '../../core/crypto/sshcert.ts';
import { addBot, botStartArgs, tpWithIdentity } from '../helpers/botFixture.ts';
import { tp } from '../helpers/cli.ts';
import { auditEvents, me, type SshFixture, startSshFixture } from '../helpers/sshFixture.ts';

let f: SshFixture;
let home: string;

beforeAll(async () => {
  f = await startSshFixture([{ name: 'node1' }]);
  home = mkdtempSync(join(f.dir, 'home-'));
});
afterAll(async () => {
  await f.close();
});

const expiresOf = (out: string) =>
  Number(parseCert(readIdentityFile(join(out, 'identity')).sshCert).validBefore) * 1000;

/** Waits (bounded, polling the clock) until the identity in `out` has expired. */
async function untilExpired(out: string): Promise<void> {
  const end = expiresOf(out);
  for (let i = 0; i < 200 && Date.now() <= end + 500; i++) await Bun.sleep(50);
  expect(Date.now()).toBeGreaterThan(end);
}

const restart = (out: string) =>
  tp(['bot', 'start', '--proxy', f.cluster.proxy.addr, '--out', out, '--oneshot'], { env: { TP_HOME: home } });

async function joined(name: string, budget: string): Promise<string> {
  const t = await addBot(f, name, ['--roles', 'ops', '--logins', me, '--ttl', '2s', '--rejoin-budget', budget]);
  const out = join(f.dir, name);
  const r = await tp(botStartArgs(f, t, out, ['--oneshot', '--ttl', '2s']));
  if (r.code !== 0) throw new Error(r.stderr);
  return out;
}

describe('a bot down past its certificate lifetime', () => {
  test('rejoins with its bound key, then is refused once its budget is spent', async () => {
    const out = await joined('offline', '1');
    await untilExpired(out);
    const dead = await tpWithIdentity(out, home, ['ssh', 'node1', 'true']);
    expect(dead.code).not.toBe(0);
    const back = await restart(out);
    expect(back.stderr).toContain('rejoining with the bound key');
    expect(back.code).toBe(0);
    expect((await tpWithIdentity(out, home, ['ssh', 'node1', 'echo back'])).stdout).toBe('back\n');
    await untilExpired(out);
    const spent = await restart(out);
    expect(spent.code).not.toBe(0);
    expect(spent.stderr).toContain('spent its rejoin budget');
    const joins = await auditEvents(f, 'bot.join');
    expect(joins.filter((e) => e.method === 'rejoin' && e.user === 'bot-offline').map((e) => e.success)).toEqual([
      true,
      false,
    ]);
  }, 30_000);

  test('a bot with no rejoin budget cannot rejoin', async () => {
    const out = await joined('nobudget', '0');
    await untilExpired(out);
    const r = await restart(out);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('spent its rejoin budget');
  });

  test('a rejoin signed by any key but the bound one is refused', async () => {
    const out = await joined('bound', '5');
    const id = readIdentityFile(join(out, 'identity'));
    // The thief has the identity file's names but makes its own SSH key (the bound key never left the bot).
    const r = await rejoinBot({ ...id, instance: id.instance! }, newBotKeys()).catch((err: Error) => err);
    expect(String(r)).toContain('not the one bound');
    // The bound key still rejoins.
    const ok = await rejoinBot({ ...id, instance: id.instance! }, newBotKeys(id));
    expect(ok.instance).toBe(id.instance!);
  });
});
