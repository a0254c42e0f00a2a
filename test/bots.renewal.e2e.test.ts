import { afterAll, beforeAll, expect, test } from 'bun:test';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readIdentityFile } from '../core/client/identityFile.ts';
import { parseCert } from '../core/crypto/sshcert.ts';
import { addBot, botStartArgs, spawnBot, tpWithIdentity } from './helpers/botFixture.ts';
import { ssh } from './helpers/sshd.ts';
import { auditEvents, me, type SshFixture, startSshFixture } from './helpers/sshFixture.ts';

let f: SshFixture;

beforeAll(async () => {
  f = await startSshFixture([{ name: 'node1' }]);
});
afterAll(async () => {
  await f.close();
});

const generation = (out: string) => {
  const id = readIdentityFile(join(out, 'identity'));
  return { instance: id.instance, expires: Number(parseCert(id.sshCert).validBefore) * 1000 };
};

test('a 10 s identity renewed every 3 s keeps working for ~36 s, through a 5 s auth outage', async () => {
  const t = await addBot(f, 'renewer', ['--roles', 'ops', '--logins', me, '--ttl', '10s']);
  const out = join(f.dir, 'renewer');
  const home = mkdtempSync(join(f.dir, 'home-'));
  const bot = spawnBot(
    botStartArgs(f, t, out, ['--ttl', '10s', '--renew-every', '3s', '--status-addr', '127.0.0.1:0']),
  );
  try {
    const status = (await bot.waitFor(/bot status on (http:\/\/[\d.:]+)\/healthz/))[1]!;
    const first = generation(out);
    expect(first.expires - Date.now()).toBeLessThanOrEqual(10_500);
    const t0 = Date.now();
    let outageDone = false;
    let checks = 0;
    // Bounded: at most 60 checks, for 36 s of wall time.
    while (Date.now() - t0 < 36_000 && checks < 60) {
      checks++;
      if (!outageDone && Date.now() - t0 > 10_000) {
        await f.cluster.auth.stop();
        const down = Date.now();
        // The nodes and the proxy go on without auth; the identity must still be valid when auth is back.
        while (Date.now() - down < 5_000) {
          const r = await ssh(['-F', join(out, 'ssh_config'), 'node1', 'echo during-outage']);
          expect(r.stdout).toBe('during-outage\n');
        }
        await f.cluster.auth.restart();
        outageDone = true;
      }
      const viaTp = await tpWithIdentity(out, home, ['ssh', 'node1', 'echo ok']);
      expect(viaTp.stderr).toBe('');
      expect(viaTp.stdout).toBe('ok\n');
      const viaSsh = await ssh(['-F', join(out, 'ssh_config'), '-o', 'StrictHostKeyChecking=yes', 'node1', 'true']);
      expect(viaSsh.code).toBe(0);
    }
    expect(outageDone).toBe(true);
    // Still valid at the end, far past the first certificate's expiry, on the same instance.
    const last = generation(out);
    expect(last.instance).toBe(first.instance);
    expect(last.expires).toBeGreaterThan(first.expires + 20_000);
    expect(last.expires).toBeGreaterThan(Date.now());
    const health = await fetch(`${status}/healthz`);
    expect(health.status).toBe(200);
    const metrics = await (await fetch(`${status}/metrics`)).text();
    const renewals = Number(/^tp_bot_renewals_total (\d+)$/m.exec(metrics)?.[1]);
    expect(renewals).toBeGreaterThanOrEqual(8);
    expect(metrics).toMatch(/^tp_bot_renewal_failures_total [1-9]\d*$/m);
    const audited = await auditEvents(f, 'bot.renew');
    expect(audited.filter((e) => e.instance === first.instance && e.success === true).length).toBeGreaterThanOrEqual(8);
    expect(readFileSync(join(out, 'known_hosts'), 'utf8')).toContain('@cert-authority');
  } finally {
    expect(await bot.stop()).toBe(0);
  }
}, 58_000);
