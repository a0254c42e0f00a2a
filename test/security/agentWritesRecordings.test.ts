import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type { Output } from '../../cmd/lib/outputSchemas.ts';
import type { ApiClient } from '../../core/api/client.ts';
import { AckSchema } from '../../core/api/schemas.ts';
import { partKey } from '../../core/audit/blobStore.ts';
import type { RecordingMeta } from '../../core/audit/store.ts';
import { type NodeClients, nodeClients, partBody, recordedEcho } from '../helpers/agentWrites.ts';
import { tp } from '../helpers/cli.ts';
import { auditEvents, type FixtureUser, type SshFixture, startSshFixture } from '../helpers/sshFixture.ts';

// Finding 5 of issue 15: with any node certificate, `POST /webapi/agent/recordings/<another node's session>/parts/1`
// and a re-posted meta (`status: complete`, `command: ls`) replaced what `tp play` showed and hid the session from
// `tp recordings search`. A session's recording is written only by the node that ran it, and a final one never changes.

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

/** Runs `echo <marker>` on node-a as alice and waits until its recording is complete. */
async function recordedOnA(): Promise<{ marker: string; rec: RecordingMeta }> {
  const marker = `mine-${Math.random().toString(36).slice(2, 10)}`;
  return { marker, rec: await recordedEcho(f, alice, 'node-a', marker) };
}

/** The refusal `promise` ends with (it must not succeed). */
async function refusal(promise: Promise<unknown>): Promise<Error> {
  const out = await promise.then(
    (v) => new Error(`expected a refusal, got ${JSON.stringify(v)}`),
    (e: Error) => e,
  );
  return out;
}

/** What a person sees of the recording, and whether search still finds it by its output. */
async function stillOriginal(marker: string, rec: RecordingMeta): Promise<void> {
  const play = await admin(['play', rec.sessionId, '--format', 'text']);
  expect(play.stdout).toBe(`${marker}\n`);
  type Listed = Output<'recordings ls'>;
  const found = JSON.parse((await admin(['recordings', 'search', marker, '--format', 'json'])).stdout) as Listed;
  expect(found.map((r) => r.session_id)).toEqual([rec.sessionId]);
  const list = JSON.parse((await admin(['recordings', 'ls', '--format', 'json'])).stdout) as Listed;
  expect(list.find((r) => r.session_id === rec.sessionId)).toMatchObject({
    command: `echo ${marker}`,
    server_id: nodeA.hostId,
    status: 'complete',
  });
}

describe("a node cannot forge another node's recording", () => {
  const routes: [string, () => ApiClient, (sid: string) => string][] = [
    ['through the proxy', () => nodeB.proxy, (sid) => `/webapi/agent/recordings/${sid}`],
    ['directly at auth', () => nodeB.auth, (sid) => `/v1/recordings/${sid}`],
  ];
  for (const [how, client, base] of routes) {
    test(`node B overwriting node A's part and meta ${how} is refused and audited`, async () => {
      const { marker, rec } = await recordedOnA();
      const part = await refusal(
        client().post(AckSchema, `${base(rec.sessionId)}/parts/1`, partBody('forged output\n')),
      );
      expect(part.message).toBe(`session ${rec.sessionId} ran on another node; a node writes only its own sessions`);
      const forged = { ...rec, status: 'complete', command: 'ls', parts: 1, serverId: nodeB.hostId };
      const meta = await refusal(client().post(AckSchema, base(rec.sessionId), { meta: forged }));
      expect(meta.message).toBe(part.message);
      await stillOriginal(marker, rec);
      const refusals = (await auditEvents(f, 'auth.attempt')).filter(
        (e) => e.user === nodeB.hostId && e.session_id === rec.sessionId && e.action === 'recording.create',
      );
      expect(refusals.length).toBe(2);
    });
  }

  test('a proxy identity writes no recordings', async () => {
    const { marker, rec } = await recordedOnA();
    const proxy = await f.cluster.auth.proxy();
    const err = await refusal(proxy.post(AckSchema, `/v1/recordings/${rec.sessionId}/parts/1`, partBody('forged\n')));
    expect(err.message).toBe('proxy identities may not recording.create');
    await stillOriginal(marker, rec);
  });
});

describe('a final recording never changes', () => {
  test('its own node may resend what it sent, and nothing else', async () => {
    const { marker, rec } = await recordedOnA();
    const base = `/webapi/agent/recordings/${rec.sessionId}`;
    const stored = await f.cluster.auth.server.service.deps.recordings.getItemRaw<Buffer>(partKey(rec.sessionId, 1));
    const original = { data: Buffer.from(stored!).toString('base64') };
    // A retry after a lost answer is harmless.
    expect(await nodeA.proxy.post(AckSchema, `${base}/parts/1`, original)).toEqual({ stored: 1 });
    expect(await nodeA.proxy.post(AckSchema, base, { meta: rec })).toEqual({ stored: rec.sessionId });
    const final = `recording ${rec.sessionId} is complete and can no longer be changed`;
    expect((await refusal(nodeA.proxy.post(AckSchema, `${base}/parts/1`, partBody('rewritten\n')))).message).toBe(
      final,
    );
    expect((await refusal(nodeA.proxy.post(AckSchema, `${base}/parts/2`, partBody('appended\n')))).message).toBe(final);
    const changed = { ...rec, command: 'ls' };
    expect((await refusal(nodeA.proxy.post(AckSchema, base, { meta: changed }))).message).toBe(final);
    const failed = { ...rec, status: 'failed', error: 'pretend' };
    expect(
      (await refusal(nodeA.auth.post(AckSchema, `/v1/recordings/${rec.sessionId}`, { meta: failed }))).message,
    ).toBe(final);
    await stillOriginal(marker, rec);
    const refusals = (await auditEvents(f, 'auth.attempt')).filter(
      (e) => e.user === nodeA.hostId && e.session_id === rec.sessionId && e.error === final,
    );
    expect(refusals).toHaveLength(4);
  });

  test('metadata saying complete before its parts are stored is refused and freezes nothing', async () => {
    const sid = crypto.randomUUID();
    const base = `/webapi/agent/recordings/${sid}`;
    const meta = {
      sessionId: sid,
      user: 'alice',
      login: 'alice',
      serverId: nodeA.hostId,
      serverName: 'node-a',
      kind: 'exec',
      command: 'echo early',
      startedAt: new Date().toISOString(),
      status: 'complete',
      parts: 1,
      bytes: 6,
    };
    const early = await refusal(nodeA.proxy.post(AckSchema, base, { meta }));
    expect(early.message).toBe(`part 1 of recording ${sid} is missing`);
    expect(await nodeA.proxy.post(AckSchema, `${base}/parts/1`, partBody('early\n'))).toEqual({ stored: 1 });
    expect(await nodeA.proxy.post(AckSchema, base, { meta })).toEqual({ stored: sid });
    expect((await admin(['play', sid, '--format', 'text'])).stdout).toBe('early\n');
  });
});
