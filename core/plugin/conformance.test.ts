// The conformance suite's own checks fail when a plugin reached through `protocol.open` misbehaves: a harness whose
// plugin lets everyone in, or keeps a refused connection open, fails them (no check of the suite passes vacuously).
import { describe, expect, test } from 'bun:test';
import { PassThrough } from 'node:stream';
import { type ConformanceAnswer, type ConformanceHarness, conformanceChecks, type Reached } from './conformance.ts';
import type { PluginDefinition } from './types.ts';

const sniPlugin = { name: 'sni-test', kind: 'snitest', alpn: [] } as unknown as PluginDefinition<never>;

/** A harness whose `open` answers `answer` on a socket that closes when `closes` says so. */
function harness(answer: (creds: unknown) => ConformanceAnswer, closes: boolean, open = true): ConformanceHarness {
  const reached = async (creds: unknown): Promise<Reached> => {
    const sock = new PassThrough();
    if (closes) setTimeout(() => sock.destroy(), 10);
    return { sock, answer: answer(creds) };
  };
  return {
    proxy: { addr: '127.0.0.1:1', ca: [] },
    resources: [
      { name: 'r-tunnel', via: 'tunnel' },
      { name: 'r-direct', via: 'direct', directAddr: '127.0.0.1:1' },
    ],
    principals: { allowed: 'dev', denied: 'admin' },
    user: async () => ({ cert: 'cert', key: 'key' }),
    proxyTls: { cert: 'cert', key: 'key' },
    foreignUser: async () => ({ cert: 'cert', key: 'key' }),
    events: async () => [],
    protocol: {
      request: () => ({}),
      ...(open ? { open: (creds: unknown) => reached(creds) } : {}),
      exercise: async () => undefined,
    },
  };
}

const check = (name: string, h: ConformanceHarness, o = {}) => {
  const c = conformanceChecks(sniPlugin, () => h, o).find((x) => x.name.startsWith(name));
  if (!c) throw new Error(`no check "${name}"`);
  return c;
};
const refused = (code: string): ConformanceAnswer => ({ ok: false, error: { code, message: 'no' } });

describe('conformance suite through protocol.open', () => {
  test('a plugin that lets a client without a certificate in fails the check', async () => {
    const h = harness(() => ({ ok: true }), true);
    await expect(check('refuses a connection without a user certificate', h).run()).rejects.toThrow(
      'expected a refusal "unauthenticated"',
    );
  });

  test('a refusal whose connection stays open fails, unless the harness says its refusals keep it', async () => {
    const h = harness((creds) => (creds ? { ok: true } : refused('unauthenticated')), false);
    await expect(check('refuses a connection without a user certificate', h).run()).rejects.toThrow('still open');
    h.protocol.refusalCloses = false;
    await check('refuses a connection without a user certificate', h).run();
  }, 10_000);

  test('a plugin with no ALPN id and a harness without open() is told so', async () => {
    const h = harness(() => ({ ok: true }), true, false);
    await expect(check('works through a tunnel and a direct agent alike', h).run()).rejects.toThrow(
      'the harness must give open()',
    );
  });

  test('sessionAudit names the events the session check reads', () => {
    const h = harness(() => ({ ok: true }), true);
    const names = conformanceChecks(sniPlugin, () => h, { sessionAudit: { start: 'snitest.request' } }).map(
      (c) => c.name,
    );
    expect(names).toContain('audits snitest.request of one session');
    expect(conformanceChecks(sniPlugin, () => h).map((c) => c.name)).toContain(
      'audits snitest.session.start and snitest.session.end of one session',
    );
  });
});
