import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type { Output } from '../cmd/lib/outputSchemas.ts';
import { waitFor } from './helpers/cluster.ts';
import { auditEvents, type SshFixture, startSshFixture } from './helpers/sshFixture.ts';

let f: SshFixture;
beforeAll(async () => {
  f = await startSshFixture([{ name: 'g1' }]);
});
afterAll(async () => f.close());

const status = async () =>
  JSON.parse((await f.admin(['rotate', 'status', '--format', 'json'])).stdout) as Output<'rotate status'>;

describe('manual rotation guard', () => {
  test('tp rotate phase refuses while a server is behind, naming it; --force advances', async () => {
    expect((await f.admin(['rotate', 'start', '--type', 'host', '--manual'])).code).toBe(0);
    await waitFor('every server in init', async () => (await status()).servers.every((s) => s.caught_up));
    // g1 took on init, then goes away: it will not take on update_clients.
    await f.cluster.agents.get('g1')!.close();
    expect((await f.admin(['rotate', 'phase', 'update_clients'])).code).toBe(0);
    await waitFor('the proxy in update_clients', async () =>
      (await status()).servers.filter((s) => s.kind === 'proxy').every((s) => s.caught_up),
    );

    const refused = await f.admin(['rotate', 'phase', 'update_servers']);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain('have not taken on phase update_clients yet: node g1');
    expect(refused.stderr).toContain('--force');
    expect((await status()).state.phase).toBe('update_clients');

    const forced = await f.admin(['rotate', 'phase', 'update_servers', '--force']);
    expect(forced.code).toBe(0);
    expect((await status()).state.phase).toBe('update_servers');
    const phases = await auditEvents(f, 'rotation.phase');
    expect(phases.at(-1)).toMatchObject({ phase: 'update_servers', forced_past: ['node g1'] });

    // Rollback, the way out for servers that are behind, is never held back.
    expect((await f.admin(['rotate', 'rollback'])).code).toBe(0);
    expect((await f.admin(['rotate', 'phase', 'standby', '--force'])).code).toBe(0);
    expect((await status()).state.phase).toBe('standby');
  }, 60_000);
});
