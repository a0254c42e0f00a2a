import { describe, expect, test } from 'bun:test';
import type { ApiClient } from '../api/client.ts';
import { type HeartbeatResource, heartbeatSender } from './heartbeat.ts';

/** A stand-in for the proxy's API that records each heartbeat body (and can fail one). */
function recorder() {
  const bodies: Record<string, unknown>[] = [];
  let fail = false;
  const api = {
    send: async (_p: unknown, _m: string, _path: string, body: Record<string, unknown>) => {
      if (fail) throw new Error('proxy away');
      bodies.push(body);
      return { ok: true };
    },
  } as unknown as ApiClient;
  return { api, bodies, failNext: (f: boolean) => (fail = f) };
}

const pg1: HeartbeatResource = { kind: 'db', plugin: 'db-postgres', name: 'pg1', labels: {}, spec: {} };

describe('heartbeat resources', () => {
  test('sent whole while there are any; an empty list once (first beat, on emptying), then left out', async () => {
    const r = recorder();
    let served: HeartbeatResource[] = [];
    const beat = heartbeatSender(r.api, {
      name: 'n',
      labels: {},
      addr: () => undefined,
      periodMs: 1000,
      resources: () => served,
    });
    await beat();
    await beat();
    served = [pg1];
    await beat();
    await beat();
    served = [];
    await beat();
    await beat();
    expect(r.bodies.map((b) => b.resources)).toEqual([[], undefined, [pg1], [pg1], [], undefined]);
  });

  test('an empty list not answered is sent again; no option sends no resources field', async () => {
    const r = recorder();
    const beat = heartbeatSender(r.api, {
      name: 'n',
      labels: {},
      addr: () => undefined,
      periodMs: 1000,
      resources: () => [],
    });
    r.failNext(true);
    await beat();
    r.failNext(false);
    await beat();
    await beat();
    expect(r.bodies.map((b) => b.resources)).toEqual([[], undefined]);
    const plain = recorder();
    await heartbeatSender(plain.api, { name: 'n', labels: {}, addr: () => undefined, periodMs: 1000 })();
    expect('resources' in plain.bodies[0]!).toBe(false);
    expect(plain.bodies[0]!.ttlMs).toBe(3000);
  });
});
