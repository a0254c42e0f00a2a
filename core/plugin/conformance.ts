// The plugin conformance suite: the checks every protocol plugin passes through a real cluster (DESIGN.md
// "Plugins"). A plugin's test builds a harness (cluster, resources, users) and registers one test per check:
//   for (const c of conformanceChecks(plugin, () => harness)) test(c.name, c.run, c.timeoutMs);
import type { Duplex } from 'node:stream';
import {
  ask,
  type ConformanceAnswer,
  ConformanceFailure,
  closedWithin,
  expectRefused,
  openTls,
  type TlsCreds,
  until,
} from './conformanceWire.ts';
import type { PluginDefinition } from './types.ts';

export { type ConformanceAnswer, ConformanceFailure, type TlsCreds } from './conformanceWire.ts';

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
  principals?: {
    allowed: string;
    denied: string;
    /**
     * Whether an audit event records the refusal of `denied` (default: an `auth.attempt` of the plugin's kind naming
     * it as `login`), for plugins whose agent judges the principal per request (kube: a `kube.request` refused).
     */
    refusal?: { type: string; is(e: Record<string, unknown>, denied: string): boolean };
  };
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
     * With `open`, only its `route` is used: what the plugin's proxy side passes the agent (kube: none).
     */
    request(principal: string, resource: string): Record<string, unknown>;
    /**
     * For plugins reached by TLS server name (no ALPN id, no default framing: kube, web app hosts): opens a
     * connection to `resource` through the proxy (`creds` absent: no client certificate), sends the protocol's
     * first request (as `principal`, when given) and reads the answer into the default framing's terms (HTTP 401 or
     * a redirect to the login page: `unauthenticated`; 403: `access_denied` ...). The socket is handed over paused,
     * just past that answer. Absent: the plugin's first ALPN id with the default framing.
     */
    open?(creds: TlsCreds | undefined, resource: string, principal?: string): Promise<Reached>;
    /**
     * False for a protocol whose refusal of a client without a certificate keeps the connection usable (a web app
     * host redirects to the login page; the browser comes back on the same connection): the suite then does not
     * wait for the refused connection to close.
     */
    refusalCloses?: boolean;
    /**
     * One exchange on a connection just past the proxy's answer (handed over paused); rejects when the resource
     * refused or broke it.
     */
    exercise(sock: Duplex): Promise<void>;
  };
}

/** A connection through the proxy, just past its first answer, and that answer. */
export interface Reached {
  sock: Duplex;
  answer: ConformanceAnswer;
}

/** What the suite knows of a plugin before its cluster is up (the checks are registered then). */
export interface ConformanceOptions {
  /**
   * The events one session leaves (default `<kind>.session.start` and `.end`): a plugin that audits requests, not
   * sessions (kube: `kube.request`), names its per-request event as `start` and leaves `end` out.
   */
  sessionAudit?: { start: string; end?: string };
}

/** One check of the suite. */
export interface ConformanceCheck {
  name: string;
  run(): Promise<void>;
  timeoutMs: number;
}

/**
 * The suite's checks for `plugin`, against the harness `h()` returns once the test's cluster is up: refuses an
 * unauthenticated connection (at the proxy, and a stream to a direct agent that did not come through the proxy),
 * refuses what the roles deny, audits `<kind>.session.start`/`.end`, ends the session when the user's
 * certificate expires, and works through a tunnel and a direct agent alike. End-to-end plugins (SSH) authenticate
 * inside their protocol and take only the checks that apply to them. Plugins reached by server name are reached with
 * the harness's `protocol.open`; `o.sessionAudit` names what a plugin audits instead
 * of sessions.
 */
export function conformanceChecks(
  plugin: PluginDefinition<never>,
  h: () => ConformanceHarness,
  o: ConformanceOptions = {},
): ConformanceCheck[] {
  const kind = plugin.kind;
  /** Reaches `resource` (as `principal`) through the proxy: the harness's `open`, else the default framing. */
  const reach = async (creds: TlsCreds | undefined, resource: string, principal?: string): Promise<Reached> => {
    const open = h().protocol.open;
    if (open) return open(creds, resource, principal);
    const alpn = plugin.alpn[0];
    if (!alpn) throw new ConformanceFailure(`plugin "${plugin.name}" has no ALPN id: the harness must give open()`);
    const sock = await openTls(h().proxy.addr, alpn, h().proxy.ca, creds);
    const answer = await ask(sock, { v: 1, target: resource, ...h().protocol.request(principal ?? '', resource) });
    return { sock, answer };
  };
  const allowed = () => h().principals?.allowed;
  const first = () => h().resources[0]!.name;
  const unauthenticated: ConformanceCheck = {
    name: 'refuses a connection without a user certificate',
    timeoutMs: 20_000,
    run: async () => {
      const { sock, answer } = await reach(undefined, first(), allowed());
      expectRefused(answer, 'unauthenticated', 'no client certificate');
      if (h().protocol.refusalCloses === false) sock.destroy();
      else await closedWithin(sock, 5_000, 'the refused connection');
    },
  };
  const denial: ConformanceCheck = {
    name: 'refuses what the roles deny (a principal; a resource, for kinds without principals), and audits it',
    timeoutMs: 20_000,
    run: async () => {
      const { principals, deniedResource } = h();
      if (!principals === !deniedResource)
        throw new ConformanceFailure('the harness names either principals or a deniedResource, not both');
      const target = deniedResource ?? first();
      const principal = principals?.denied;
      const { sock, answer } = await reach(await h().user(), target, principal);
      expectRefused(answer, 'access_denied', principals ? `principal "${principal}"` : `resource "${target}"`);
      sock.destroy();
      const refusal = principals?.refusal ?? {
        type: 'auth.attempt',
        is: (e: Record<string, unknown>) =>
          e.kind === kind &&
          typeof e.error === 'string' &&
          (principals ? e.login === principal : JSON.stringify(e).includes(`"${target}"`)),
      };
      await until('the refusal in the audit log', async () =>
        (await h().events(refusal.type)).some((e) => e.success === false && refusal.is(e, principal ?? '')),
      );
    },
  };
  const bothPaths: ConformanceCheck = {
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
  };
  const checks = [unauthenticated, denial, bothPaths];
  if (plugin.endToEnd) return checks;
  const audit = o.sessionAudit ?? { start: `${kind}.session.start`, end: `${kind}.session.end` };
  return [...checks, sessionEvents(audit, h, reach), ...agentChecks(plugin, h, reach)];
}

/** The audit of one whole session: its start (successful, naming the user) and its end, by session ID. */
function sessionEvents(
  { start, end }: { start: string; end?: string },
  h: () => ConformanceHarness,
  reach: (c: TlsCreds | undefined, r: string, p?: string) => Promise<Reached>,
): ConformanceCheck {
  return {
    name: end ? `audits ${start} and ${end} of one session` : `audits ${start} of one session`,
    timeoutMs: 30_000,
    run: async () => {
      const before = new Set((await h().events(start)).map((e) => e.session_id));
      const { sock, answer } = await reach(await h().user(), h().resources[0]!.name, h().principals?.allowed);
      if (!answer.ok) throw new ConformanceFailure(`allowed session refused: ${JSON.stringify(answer)}`);
      await h().protocol.exercise(sock);
      sock.end();
      await closedWithin(sock, 10_000, 'the finished session');
      let sid: unknown;
      await until(start, async () => {
        const first = (await h().events(start)).find((e) => !before.has(e.session_id));
        sid = first?.success === true && first.user ? first.session_id : undefined;
        return sid !== undefined;
      });
      if (end)
        await until(`${end} of session ${String(sid)}`, async () =>
          (await h().events(end)).some((e) => e.session_id === sid),
        );
    },
  };
}

/** The checks of plugins whose agent verifies the user's certificate itself (not end to end). */
function agentChecks(
  plugin: PluginDefinition<never>,
  h: () => ConformanceHarness,
  reach: (c: TlsCreds | undefined, r: string, p?: string) => Promise<Reached>,
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
  const allowed = () => h().principals?.allowed;
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
          ...h().protocol.request(allowed() ?? '', direct().name),
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
