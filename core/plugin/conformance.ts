// The plugin conformance suite: the checks every protocol plugin passes through a real cluster (DESIGN.md
// "Plugins"). A plugin's test builds a harness (cluster, resources, users) and registers one test per check:
//   for (const c of conformanceChecks(plugin, () => harness)) test(c.name, c.run, c.timeoutMs);
import type { Duplex } from 'node:stream';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import * as v from 'valibot';
import { TpError } from '../errors.ts';
import { parseHostPort } from '../net/index.ts';
import { readHeader, writeHeader } from '../tunnel/header.ts';
import type { PluginDefinition } from './types.ts';

/** TLS client credentials (PEM). */
export interface TlsCreds {
  cert: string;
  key: string;
}

/** What a plugin's conformance test provides: a running cluster serving the plugin's resources, and its protocol. */
export interface ConformanceHarness {
  /** The proxy's TLS address and the cluster's TLS CAs. */
  proxy: { addr: string; ca: string[] };
  /** The plugin's resources here: at least one served over a tunnel and one by a direct agent (its address). */
  resources: { name: string; via: 'tunnel' | 'direct'; directAddr?: string }[];
  /**
   * A principal the test user's roles allow on every resource, and one they deny. Kinds without principals (apps)
   * leave it out and name `deniedResource` instead.
   */
  principals?: { allowed: string; denied: string };
  /** For kinds without principals: a resource here that the test user's roles do not reach (by its labels). */
  deniedResource?: string;
  /** A fresh TLS certificate of the test user, valid `ttlMs` (default an hour). */
  user(ttlMs?: number): Promise<TlsCreds>;
  /** An identity the agents trust as a proxy: plays a proxy that skipped every check, against a direct agent. */
  proxyTls: TlsCreds;
  /** A certificate naming the same user from a CA this cluster does not know. */
  foreignUser(): Promise<TlsCreds>;
  /** The audit events of `type` recorded so far. */
  events(type: string): Promise<Record<string, unknown>[]>;
  protocol: {
    /**
     * The fields of the first line the client sends the proxy to reach `resource` as `principal`: the default
     * framing's `{principal, route}` (the suite adds `v` and `target`), or the plugin's own (SSH: `{node, login}`).
     */
    request(principal: string, resource: string): Record<string, unknown>;
    /**
     * One exchange on a connection just past the proxy's answer (handed over paused); rejects when the resource
     * refused or broke it.
     */
    exercise(sock: Duplex): Promise<void>;
  };
}

/** One check of the suite. */
export interface ConformanceCheck {
  name: string;
  run(): Promise<void>;
  timeoutMs: number;
}

/** A check that did not hold, with what was seen. */
export class ConformanceFailure extends TpError {}

const Answer = v.looseObject({
  ok: v.boolean(),
  error: v.optional(v.object({ code: v.string(), message: v.string() })),
});
type Answer = v.InferOutput<typeof Answer>;

/** Opens mutual TLS to `addr` on one ALPN id (no client certificate when `creds` is absent). */
function openTls(addr: string, alpn: string, ca: string[], creds?: TlsCreds): Promise<TLSSocket> {
  const [host, port] = parseHostPort(addr);
  const sock = tlsConnect({
    host,
    port,
    ca,
    ...creds,
    ALPNProtocols: [alpn],
    // Agents and proxies name their host ID or cluster, not the loopback address dialled here.
    checkServerIdentity: () => undefined,
  });
  return new Promise((resolve, reject) => {
    sock.once('secureConnect', () => resolve(sock));
    sock.once('error', reject);
  });
}

/** Sends one header line and reads the one answer line. */
async function ask(sock: TLSSocket, header: unknown): Promise<Answer> {
  writeHeader(sock, header);
  return readHeader(sock, Answer, 64 * 1024, 10_000);
}

/** Resolves once `sock` has closed; rejects after `ms`. */
function closedWithin(sock: Duplex, ms: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (sock.destroyed) return resolve();
    const timer = setTimeout(() => reject(new ConformanceFailure(`${what}: still open after ${ms} ms`)), ms);
    sock.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    sock.resume();
  });
}

/** Polls until `cond` holds (every 50 ms, at most `ms`). */
async function until(what: string, cond: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new ConformanceFailure(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function expectRefused(a: Answer, code: string, what: string): void {
  if (a.ok || a.error?.code !== code)
    throw new ConformanceFailure(`${what}: expected a refusal "${code}", got ${JSON.stringify(a)}`);
}

/**
 * The suite's checks for `plugin`, against the harness `h()` returns once the test's cluster is up: refuses an
 * unauthenticated connection (at the proxy, and a stream to a direct agent that did not come through the proxy),
 * refuses a principal the roles deny, audits `<kind>.session.start`/`.end`, ends the session when the user's
 * certificate expires, and works through a tunnel and a direct agent alike. End-to-end plugins (SSH) authenticate
 * inside their protocol and take only the checks that apply to them.
 */
export function conformanceChecks(plugin: PluginDefinition<never>, h: () => ConformanceHarness): ConformanceCheck[] {
  const alpn = plugin.alpn[0]!;
  const kind = plugin.kind;
  /** Reaches `resource` as `principal` through the proxy; the answer, and the socket past it. */
  const reach = async (creds: TlsCreds | undefined, resource: string, principal: string) => {
    const sock = await openTls(h().proxy.addr, alpn, h().proxy.ca, creds);
    const answer = await ask(sock, { v: 1, target: resource, ...h().protocol.request(principal, resource) });
    return { sock, answer };
  };
  const first = () => h().resources[0]!.name;
  /** The principal to ask for where the roles allow (none for kinds without principals). */
  const allowed = () => h().principals?.allowed ?? '';
  const denial: ConformanceCheck = {
    name: 'refuses what the roles deny (a principal; a resource, for kinds without principals), and audits it',
    timeoutMs: 20_000,
    run: async () => {
      const { principals, deniedResource } = h();
      if (!principals === !deniedResource)
        throw new ConformanceFailure('the harness names either principals or a deniedResource, not both');
      const target = deniedResource ?? first();
      const principal = principals?.denied ?? '';
      const { sock, answer } = await reach(await h().user(), target, principal);
      expectRefused(answer, 'access_denied', principals ? `principal "${principal}"` : `resource "${target}"`);
      sock.destroy();
      await until('the refusal in the audit log', async () =>
        (await h().events('auth.attempt')).some(
          (e) =>
            e.kind === kind &&
            typeof e.error === 'string' &&
            (principals ? e.login === principal : JSON.stringify(e).includes(`"${target}"`)),
        ),
      );
    },
  };
  const checks: ConformanceCheck[] = [
    {
      name: 'refuses a connection without a user certificate',
      timeoutMs: 20_000,
      run: async () => {
        const { sock, answer } = await reach(undefined, first(), allowed());
        expectRefused(answer, 'unauthenticated', 'no client certificate');
        await closedWithin(sock, 5_000, 'the refused connection');
      },
    },
    denial,
    {
      name: 'works through a tunnel and a direct agent alike',
      timeoutMs: 30_000,
      run: async () => {
        const vias = new Set(h().resources.map((r) => r.via));
        if (!vias.has('tunnel') || !vias.has('direct'))
          throw new ConformanceFailure('the harness must serve one resource over a tunnel and one direct');
        for (const r of h().resources) {
          const { sock, answer } = await reach(await h().user(), r.name, allowed());
          if (!answer.ok) throw new ConformanceFailure(`${r.via} resource ${r.name}: ${JSON.stringify(answer)}`);
          await h().protocol.exercise(sock);
          sock.destroy();
        }
      },
    },
  ];
  // End-to-end plugins (SSH) audit sessions inside their protocol, under their own event types.
  const sessionEvents: ConformanceCheck = {
    name: `audits ${kind}.session.start and ${kind}.session.end of one session`,
    timeoutMs: 30_000,
    run: async () => {
      const before = new Set((await h().events(`${kind}.session.start`)).map((e) => e.session_id));
      const { sock, answer } = await reach(await h().user(), first(), allowed());
      if (!answer.ok) throw new ConformanceFailure(`allowed session refused: ${JSON.stringify(answer)}`);
      await h().protocol.exercise(sock);
      sock.end();
      await closedWithin(sock, 10_000, 'the finished session');
      let sid: unknown;
      await until(`${kind}.session.start`, async () => {
        const start = (await h().events(`${kind}.session.start`)).find((e) => !before.has(e.session_id));
        sid = start?.success === true && start.user ? start.session_id : undefined;
        return sid !== undefined;
      });
      await until(`${kind}.session.end of session ${String(sid)}`, async () =>
        (await h().events(`${kind}.session.end`)).some((e) => e.session_id === sid),
      );
    },
  };
  if (plugin.endToEnd) return checks;
  return [...checks, sessionEvents, ...agentChecks(plugin, h, reach)];
}

/** The checks of plugins whose agent verifies the user's certificate itself (not end to end). */
function agentChecks(
  plugin: PluginDefinition<never>,
  h: () => ConformanceHarness,
  reach: (c: TlsCreds | undefined, r: string, p: string) => Promise<{ sock: TLSSocket; answer: Answer }>,
): ConformanceCheck[] {
  const direct = () => {
    const r = h().resources.find((x) => x.via === 'direct' && x.directAddr);
    if (!r) throw new ConformanceFailure('the harness must serve one resource from a direct agent');
    return r as { name: string; directAddr: string };
  };
  /** A stream straight to the direct agent, as a proxy that checked nothing: the header it sends, the answer. */
  const forged = async (header: Record<string, unknown>) => {
    const r = direct();
    const sock = await openTls(r.directAddr, 'tp-node', h().proxy.ca, h().proxyTls);
    const answer = await ask(sock, { v: 1, service: plugin.name, client: '127.0.0.1:1', resource: r.name, ...header });
    sock.destroy();
    return answer;
  };
  const allowed = () => h().principals?.allowed ?? '';
  const der = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64').toString('base64');
  return [
    {
      name: 'the agent refuses a stream without a user certificate, or with a foreign one, and acks a valid one',
      timeoutMs: 20_000,
      run: async () => {
        expectRefused(await forged({ user: 'alice' }), 'unauthenticated', 'a stream without a certificate');
        const foreign = await h().foreignUser();
        expectRefused(await forged({ cert: der(foreign.cert) }), 'unauthenticated', 'a foreign certificate');
        const mine = await h().user();
        expectRefused(
          await forged({ cert: der(mine.cert), resource: 'no-such-resource' }),
          'not_found',
          'an unserved resource',
        );
        // What it serves it acks with one `{ok:true}` line before any protocol byte (the proxy waits for it).
        const ack = await forged({
          cert: der(mine.cert),
          ...h().protocol.request(allowed(), direct().name),
        });
        if (!ack.ok || Object.keys(ack).length !== 1)
          throw new ConformanceFailure(`an accepted stream must start with {"ok":true}, got ${JSON.stringify(ack)}`);
      },
    },
    {
      name: 'ends the session when the user certificate expires',
      timeoutMs: 30_000,
      run: async () => {
        const ttlMs = 4_000;
        const issued = Date.now();
        const { sock, answer } = await reach(await h().user(ttlMs), direct().name, allowed());
        if (!answer.ok) throw new ConformanceFailure(`allowed session refused: ${JSON.stringify(answer)}`);
        await h().protocol.exercise(sock);
        await closedWithin(sock, ttlMs + 8_000, 'a session whose certificate expired');
        // Certificates are valid to the second; one that ended early would have cut the session before its time.
        if (Date.now() - issued < ttlMs - 1_500)
          throw new ConformanceFailure(
            `the session ended after ${Date.now() - issued} ms, before the certificate expired`,
          );
      },
    },
  ];
}
