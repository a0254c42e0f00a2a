import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { MAX_RESOURCE_SPEC, MAX_RESOURCES_PER_AGENT } from '../../core/api/resourceSchemas.ts';
import { AckSchema } from '../../core/api/schemas.ts';
import type { ResourceRecord } from '../../core/plugin/types.ts';
import { parseSnapshot } from '../../core/state/items.ts';
import { startTestCluster, type TestCluster } from '../helpers/cluster.ts';
import { agentApi } from '../helpers/resourceFixture.ts';

// What an agent's heartbeat may announce about its resources, sent by hand as a compromised agent would: every
// record is its own (the host ID comes from its certificate), names cannot reach into another record's key, and
// counts, sizes and lifetimes are bounded. A refused beat stores nothing.

let cluster: TestCluster;
const db = (name: string, extra: Record<string, unknown> = {}) => ({
  kind: 'db',
  plugin: 'db-postgres',
  name,
  labels: { env: 'dev' },
  spec: { protocol: 'postgres' },
  ...extra,
});

/** One heartbeat of agent `a1` carrying `resources`; the refusal's message, or undefined when accepted. */
async function beat(resources: unknown[], ttlMs = 1500): Promise<string | undefined> {
  const api = agentApi(cluster, 'a1');
  return api.post(AckSchema, '/webapi/agent/heartbeat', { name: 'a1', labels: {}, ttlMs, resources }).then(
    () => undefined,
    (e: Error) => e.message,
  );
}
const records = async () => cluster.proxy.view.resources('db');

beforeAll(async () => {
  cluster = await startTestCluster({ agents: [{ name: 'a1' }, { name: 'a2' }] });
});
afterAll(async () => cluster?.close());

describe('resource heartbeats', () => {
  test('a record names its agent by certificate: a host ID in the body is refused, never taken', async () => {
    const victim = cluster.agents.get('a2')!.hostId;
    expect(await beat([db('pg1', { hostId: victim })])).toContain('hostId');
    expect((await records()).some((r) => r.hostId === victim)).toBe(false);
    expect(await beat([db('pg1')])).toBeUndefined();
    expect((await records()).map((r) => [r.name, r.hostId])).toEqual([['pg1', cluster.agents.get('a1')!.hostId]]);
  });

  test('names and kinds cannot hold "/" or other key syntax (no writing under another record\'s key)', async () => {
    const victim = cluster.agents.get('a2')!.hostId;
    for (const bad of [
      db(`pg1/${victim}`),
      db('..'),
      db('PG1'),
      db('pg1', { kind: 'db/pg1' }),
      db('pg1', { kind: '' }),
    ]) {
      expect(await beat([bad])).toBeDefined();
    }
    expect((await records()).map((r) => r.name)).toEqual(['pg1']);
  });

  test('count, spec size, labels and control characters are bounded; an oversized beat stores nothing', async () => {
    const many = Array.from({ length: MAX_RESOURCES_PER_AGENT + 1 }, (_, i) => db(`db${i}`));
    expect(await beat(many)).toContain(`at most ${MAX_RESOURCES_PER_AGENT} resources`);
    const big = db('big', { spec: { blob: 'x'.repeat(MAX_RESOURCE_SPEC) } });
    expect(await beat([big])).toContain(`at most ${MAX_RESOURCE_SPEC} bytes`);
    const labels = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`l${i}`, 'v']));
    expect(await beat([db('labelled', { labels })])).toContain('at most 32 labels');
    expect(await beat([db('esc', { labels: { motd: '\x1b]0;pwned\x07' } })])).toContain('control characters');
    expect(await beat([db('esc', { spec: { protocol: '\x1b[2J' } })])).toContain('control characters');
    expect(await beat([db('twice'), db('twice')])).toContain('each resource once');
    expect((await records()).map((r) => r.name)).toEqual(['pg1']);
    expect(await beat(Array.from({ length: MAX_RESOURCES_PER_AGENT }, (_, i) => db(`db${i}`)))).toBeUndefined();
    expect(await records()).toHaveLength(MAX_RESOURCES_PER_AGENT);
  });

  test('a record lives at most 10 minutes past its last beat, whatever TTL the agent asks', async () => {
    expect(await beat([db('pg1')], 365 * 86_400_000)).toBeUndefined();
    const snap = await cluster.auth.admin.get(parseSnapshot, '/v1/watch/snapshot');
    const expiries = snap.items.filter((i) => i.kind === 'resource').map((i) => i.expires ?? Number.POSITIVE_INFINITY);
    expect(expiries.length).toBe(1);
    expect(expiries[0]!).toBeLessThanOrEqual(Date.now() + 600_000);
  });

  test("only agents announce resources: the proxy's identity or an admin's is refused at auth", async () => {
    const resources = [db('rogue')];
    // Straight to auth as the proxy (the identity the heartbeat route forwards with, minus the agent's certificate).
    const asProxy = await cluster.auth.proxy();
    const direct = await asProxy.post(AckSchema, '/v1/resources/heartbeat', { resources, ttlMs: 5000 }).then(
      () => 'accepted',
      (e: Error) => e.message,
    );
    expect(direct).toContain('only an agent heartbeats its resources');
    const asAdmin = await cluster.auth.admin
      .post(AckSchema, '/v1/resources/heartbeat', { resources, ttlMs: 5000 })
      .then(
        () => 'accepted',
        (e: Error) => e.message,
      );
    expect(asAdmin).toContain('only an agent heartbeats its resources');
    expect((await records()).some((r: ResourceRecord) => r.name === 'rogue')).toBe(false);
    const refusals = (await cluster.auth.client.searchEvents(new URLSearchParams({ type: 'node.heartbeat' }))).filter(
      (e) => e.error === 'only an agent heartbeats its resources',
    );
    expect(refusals.map((e) => [e.success, e.user])).toEqual([
      [false, expect.stringMatching(/^proxy:/)],
      [false, expect.stringMatching(/^admin:/)],
    ]);
  });
});
