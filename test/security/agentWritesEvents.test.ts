import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type { Output } from '../../cmd/lib/outputSchemas.ts';
import type { ApiClient } from '../../core/api/client.ts';
import { AckSchema } from '../../core/api/schemas.ts';
import type { AuditEvent } from '../../core/audit/events.ts';
import { type NodeClients, nodeClients, partBody } from '../helpers/agentWrites.ts';
import { tp } from '../helpers/cli.ts';
import { waitFor } from '../helpers/cluster.ts';
import { auditEvents, type FixtureUser, type SshFixture, startSshFixture } from '../helpers/sshFixture.ts';

// Finding 9 of issue 15: `POST /webapi/agent/events {"type":"user.login","user":"admin-bob","time":"2020-01-01..."}`
// with a node certificate was stored as a successful admin login in 2020. Each emitter reports only its own kind of
// events, `server_id` names the caller, and `time` is when auth received the event (the emitter's is `emitted_at`).

let f: SshFixture;
let alice: FixtureUser;
let nodeA: NodeClients;
let nodeB: NodeClients;
const admin = (args: string[]) => tp([...args, '--data-dir', f.cluster.auth.dataDir]);

beforeAll(async () => {
  f = await startSshFixture([{ name: 'node-a' }, { name: 'node-b' }]);
  alice = await f.user('alice', ['ops']);
  nodeA = nodeClients(f, 'node-a');
  nodeB = nodeClients(f, 'node-b');
});
afterAll(async () => f.close());

/** `tp audit search` as the admin, over every year the forgeries claim. */
async function search(...args: string[]): Promise<AuditEvent[]> {
  const r = await admin(['audit', 'search', '--since', '2019-01-01T00:00:00Z', '--format', 'json', ...args]);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as AuditEvent[];
}

const FORGED_LOGIN = { type: 'user.login', user: 'admin-bob', success: true, time: '2020-01-01T00:00:00.000Z' };

describe('a node reports only what a node does', () => {
  const routes: [string, () => ApiClient, string][] = [
    ['through the proxy', () => nodeB.proxy, '/webapi/agent/events'],
    ['directly at auth', () => nodeB.auth, '/v1/audit/events'],
  ];
  for (const [how, client, path] of routes) {
    test(`a forged admin login ${how} is refused, stored nowhere, and the refusal audited`, async () => {
      const answer = await client().post(AckSchema, path, {
        events: [{ ...FORGED_LOGIN, id: `2020-01-01-${how.length}-forged` }],
      });
      expect(answer).toEqual({ stored: 0, rejected: 1 });
      const logins = await search('--type', 'user.login');
      expect(logins.filter((e) => e.user === 'admin-bob' || e.time.startsWith('2020'))).toEqual([]);
      expect(await search('--user', 'admin-bob')).toEqual([]);
      const rejected = (await search('--type', 'audit.rejected')).filter(
        (e) => e.id === `R-2020-01-01-${how.length}-forged`,
      );
      expect(rejected).toHaveLength(1);
      expect(rejected[0]).toMatchObject({
        success: false,
        user: nodeB.hostId,
        server_id: nodeB.hostId,
        reported_by: `node:${nodeB.hostId}`,
        rejected_type: 'user.login',
        rejected_user: 'admin-bob',
        emitted_at: FORGED_LOGIN.time,
        error: 'a node may not report user.login events',
      });
      // A resent batch (the spool retrying after a lost answer) audits the refusal once.
      await client().post(AckSchema, path, { events: [{ ...FORGED_LOGIN, id: `2020-01-01-${how.length}-forged` }] });
      expect((await search('--type', 'audit.rejected')).filter((e) => e.id === rejected[0]!.id)).toHaveLength(1);
    });
  }

  test('in a mixed batch the forgeries are refused and the rest stored, bound to the sender at receive time', async () => {
    const t0 = Date.now();
    const forged = ['role.created', 'lock.deleted', 'user.create', 'sso.login', 'made.up'].map((type) => ({
      type,
      user: 'admin-bob',
    }));
    const dest = `10.9.9.${Math.floor(Math.random() * 200)}:5432`;
    const real = { type: 'port', user: 'alice', dest, server_id: nodeA.hostId, time: '2020-01-01T00:00:00.000Z' };
    const answer = await nodeB.proxy.post(AckSchema, '/webapi/agent/events', { events: [...forged, real] });
    expect(answer).toEqual({ stored: 1, rejected: 5 });
    const port = (await search('--type', 'port')).filter((e) => e.dest === dest);
    expect(port).toHaveLength(1);
    expect(port[0]).toMatchObject({ server_id: nodeB.hostId, emitted_at: real.time });
    expect(Date.parse(port[0]!.time)).toBeGreaterThanOrEqual(t0 - 1000);
    for (const type of ['role.created', 'lock.deleted', 'user.create', 'sso.login']) {
      expect((await search('--type', type)).filter((e) => e.user === 'admin-bob')).toEqual([]);
    }
  });

  test("node B cannot report events about node A's session, nor write its recording while it runs", async () => {
    const marker = `late-${Math.random().toString(36).slice(2, 10)}`;
    const command = `sleep 1.5; echo ${marker}`;
    const ssh = alice.tp(['ssh', 'node-a', command]);
    let sessionId = '';
    await waitFor('the session.start of the running session', async () => {
      const start = (await auditEvents(f, 'session.start')).find((e) => e.command === command);
      sessionId = String(start?.session_id ?? '');
      return !!start;
    });
    // Before node A has uploaded a byte of it, the session is bound to node A by its session.start.
    const part = await nodeB.proxy
      .post(AckSchema, `/webapi/agent/recordings/${sessionId}/parts/1`, partBody('forged\n'))
      .then(
        () => undefined,
        (e: Error) => e.message,
      );
    expect(part).toBe(`session ${sessionId} ran on another node; a node writes only its own sessions`);
    const end = { type: 'session.end', session_id: sessionId, user: 'alice', exit_code: 0 };
    expect(await nodeB.proxy.post(AckSchema, '/webapi/agent/events', { events: [end] })).toEqual({
      stored: 0,
      rejected: 1,
    });
    expect((await ssh).stdout).toBe(`${marker}\n`);
    let rec: Output<'recordings ls'>[number] | undefined;
    await waitFor('the recording on node-a', async () => {
      const list = JSON.parse(
        (await admin(['recordings', 'ls', '--format', 'json'])).stdout,
      ) as Output<'recordings ls'>;
      rec = list.find((r) => r.session_id === sessionId && r.status === 'complete');
      return !!rec;
    });
    expect((await admin(['play', sessionId, '--format', 'text'])).stdout).toBe(`${marker}\n`);
    // `tp audit search` lists newest first; read it oldest first.
    const events = (await search('--session', sessionId)).reverse();
    expect(events.map((e) => [e.type, e.server_id ?? e.user])).toEqual([
      ['session.start', nodeA.hostId],
      ['exec', nodeA.hostId],
      ['auth.attempt', nodeB.hostId],
      ['session.end', nodeA.hostId],
    ]);
  });

  test("a real node's session events arrive bound to its host ID, stamped when received", async () => {
    const t0 = Date.now();
    const marker = `real-${Math.random().toString(36).slice(2, 10)}`;
    expect((await alice.tp(['ssh', 'node-a', `echo ${marker}`])).stdout).toBe(`${marker}\n`);
    let start: AuditEvent | undefined;
    await waitFor('the session events', async () => {
      start = (await search('--type', 'session.start')).find((e) => e.command === `echo ${marker}`);
      return !!start;
    });
    expect(start).toMatchObject({ server_id: nodeA.hostId, reported_by: `node:${nodeA.hostId}`, user: 'alice' });
    const received = Date.parse(start!.time);
    expect(received).toBeGreaterThanOrEqual(Date.parse(String(start!.emitted_at)));
    expect(received).toBeGreaterThanOrEqual(t0);
    expect(received).toBeLessThanOrEqual(Date.now());
  });

  test("a refused event never holds up a node's spool", async () => {
    const agent = f.cluster.agents.get('node-b')!;
    const dest = `10.8.8.${Math.floor(Math.random() * 200)}:22`;
    agent.spool.add([
      { type: 'role.created' as never, user: 'admin-bob', target: 'admin' },
      { type: 'port', user: 'alice', dest },
    ]);
    await waitFor('the spool to drain', () => agent.spool.pending === 0);
    expect((await search('--type', 'port')).filter((e) => e.dest === dest)).toHaveLength(1);
    expect((await search('--type', 'role.created')).filter((e) => e.user === 'admin-bob')).toEqual([]);
  });
});
