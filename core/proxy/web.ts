import type { IncomingMessage } from 'node:http';
import * as v from 'valibot';
import { UpsertedNodeSchema } from '../api/hostSchemas.ts';
import { LinkReportSchema, SeenNodeSchema } from '../api/linkSchemas.ts';
import { HeartbeatResourcesSchema, ResourceHeartbeatAnswerSchema } from '../api/resourceSchemas.ts';
import type { PublicCa } from '../api/schemas.ts';
import type { OnlineNode } from '../api/webSchemas.ts';
import { FORWARDED_CERT, type Identity } from '../auth/identity.ts';
import type { NodeRecord } from '../auth/nodes.ts';
import { jwksOf } from '../crypto/jwt.ts';
import { AccessDenied, BadParameter, Unauthenticated, Unavailable } from '../errors.ts';
import { nodeVisible } from '../rbac/index.ts';
import type { StateKind } from '../state/items.ts';
import { parseBody } from '../web/json.ts';
import { type Route, whileConnected } from '../web/router.ts';
import type { ClusterView } from './clusterView.ts';
import { nodeOnline, type TunnelRegistry } from './tunnels.ts';

const HeartbeatBody = v.strictObject({
  name: v.pipe(v.string(), v.minLength(1), v.maxLength(253)),
  addr: v.optional(v.string()),
  labels: v.optional(v.record(v.string(), v.string()), {}),
  version: v.optional(v.string()),
  ttlMs: v.optional(v.number()),
  /** The plugins' resources (absent from agents without plugins: their records, if any, expire). */
  resources: v.optional(HeartbeatResourcesSchema),
  link: v.optional(LinkReportSchema),
});

const EventsBody = v.strictObject({ events: v.pipe(v.array(v.looseObject({ type: v.string() })), v.maxLength(1000)) });

/** What agents replicate: everything a node checks a login against (nodes they do not need). */
const AGENT_KINDS: readonly StateKind[] = ['role', 'lock', 'ca', 'rotation'];
/** Longest an agent's long poll is held (ms). */
const MAX_WAIT_MS = 25_000;

function requireKind(who: Identity, kind: Identity['kind']): void {
  if (who.kind === 'anonymous') throw new Unauthenticated('a client certificate is required (log in with `tp login`)');
  if (who.kind !== kind) throw new AccessDenied(`this endpoint is for ${kind} identities`);
}

/** True when some role lets the user see a node and no role's deny labels match it. */
async function visible(view: ClusterView, who: Identity, node: NodeRecord): Promise<boolean> {
  return nodeVisible(await view.rolesNamed(who.roles), node.labels);
}

/** Proxy settings the web API reports to clients. */
export interface WebInfo {
  publicAddr: string;
  sshJumpAddr?: string;
  version: string;
}

/**
 * The proxy's web API: login and join (forwarded to auth with the proxy's identity), node listing for users, and
 * the agent endpoints (heartbeat, cluster state, audit events) authenticated by the agent's host certificate.
 */
export function webRoutes(
  view: ClusterView,
  tunnels: TunnelRegistry,
  info: WebInfo,
  peerCert: (req: IncomingMessage) => string | undefined,
): Route<Identity>[] {
  const auth = view.auth;
  // Admin commands from a user's profile: the call goes to auth with the user's own certificate, which auth
  // verifies itself; the user's roles decide (an `access` user gets "not allowed", an `admin` user gets through).
  const forward = (method: 'GET' | 'POST' | 'DELETE') =>
    [
      method,
      /^\/webapi\/auth(\/v1\/[A-Za-z0-9/_.-]+)$/,
      async ({ who, params, body, query, req }) => {
        requireKind(who, 'user');
        const cert = peerCert(req);
        if (!cert) throw new Unauthenticated('a client certificate is required');
        const qs = query.toString();
        return auth.forward(method, `${params[0]}${qs ? `?${qs}` : ''}`, body, { [FORWARDED_CERT]: cert });
      },
    ] as Route<Identity>;
  return [
    forward('GET'),
    forward('POST'),
    forward('DELETE'),
    [
      'GET',
      /^\/webapi\/ping$/,
      async () => {
        const p = await view.ping();
        return {
          cluster: p.cluster,
          secondFactor: p.secondFactor,
          proxy: info.publicAddr,
          sshJump: info.sshJumpAddr,
          version: info.version,
          // The proxy's HTTPS certificate comes from the cluster's own TLS CA, which no client trusts by default:
          // the web UI tells new users to pass --insecure (or --ca-cert) to `tp login`.
          ownCa: true,
        };
      },
    ],
    [
      'GET',
      /^\/\.well-known\/jwks\.json$/,
      // The JWT CA's public keys (both during a rotation), for web apps to verify `tp-jwt-assertion`.
      async () => {
        await view.replica.ready();
        const jwt = view.replica.get<PublicCa>('ca', 'jwt');
        if (!jwt) throw new Unavailable("the cluster's JWT CA is not known yet");
        return jwksOf(jwt.tlsCerts);
      },
    ],
    [
      'GET',
      /^\/webapi\/cas$/,
      async () => {
        const c = await view.cas();
        return { cluster: c.cluster, userCa: c.userCa, hostCa: c.hostCa, tlsCa: c.tlsCa, rotation: c.rotation };
      },
    ],
    [
      'POST',
      /^\/webapi\/login$/,
      // Command-line logins: security-key assertions are only taken from the web UI's own login route, where the
      // proxy itself names the origin the browser used.
      async ({ body, remote }) =>
        auth.forward(
          'POST',
          '/v1/login',
          { ...(body as object), webauthn: undefined, origin: undefined, remoteAddr: remote },
          {},
        ),
    ],
    ['POST', /^\/webapi\/join$/, async ({ body }) => auth.forward('POST', '/v1/join', body, {})],
    [
      'POST',
      /^\/webapi\/bots\/join$/,
      async ({ body, remote }) =>
        auth.forward('POST', '/v1/bots/join', { ...(body as object), remoteAddr: remote }, {}),
    ],
    [
      'POST',
      /^\/webapi\/bots\/join\/id-token$/,
      async ({ body, remote }) =>
        auth.forward('POST', '/v1/bots/join/id-token', { ...(body as object), remoteAddr: remote }, {}),
    ],
    [
      'POST',
      /^\/webapi\/bots\/rejoin$/,
      async ({ body, remote }) =>
        auth.forward('POST', '/v1/bots/rejoin', { ...(body as object), remoteAddr: remote }, {}),
    ],
    [
      'GET',
      /^\/webapi\/nodes$/,
      async ({ who, query }) => {
        requireKind(who, 'user');
        const nodes = await view.nodes();
        const out: OnlineNode[] = [];
        for (const n of nodes) {
          if (await visible(view, who, n)) out.push({ ...n, online: nodeOnline(n, tunnels) });
        }
        // `tp ls --all`: nodes seen in the last week whose heartbeats stopped, with what they last reported.
        if (query.get('all') === '1') {
          const seen = await auth.send(v.array(SeenNodeSchema), 'GET', '/v1/nodes/seen');
          for (const s of seen) {
            if (nodes.some((n) => n.hostId === s.hostId) || !(await visible(view, who, { ...s, tunnel: false })))
              continue;
            out.push({ ...s, tunnel: false, online: false });
          }
        }
        return out.sort((a, b) => a.name.localeCompare(b.name));
      },
    ],
    [
      'POST',
      /^\/webapi\/agent\/heartbeat$/,
      async ({ who, body, req }) => {
        requireKind(who, 'node');
        const b = parseBody(HeartbeatBody, body);
        const node = {
          hostId: who.name,
          name: b.name,
          addr: b.addr,
          labels: b.labels,
          tunnel: tunnels.has(who.name),
          version: b.version,
          ...(b.link ? { link: b.link } : {}),
        };
        const ttlMs = b.ttlMs ?? 90_000;
        // Sent as the node itself: auth holds it to the name it joined with, and its resources to its host ID.
        const asNode = { [FORWARDED_CERT]: peerCert(req)! };
        let { revision } = await auth.send(UpsertedNodeSchema, 'POST', '/v1/nodes', { node, ttlMs }, asNode);
        if (b.resources) {
          const body = { resources: b.resources, ttlMs: Math.min(ttlMs, 600_000) };
          const r = await auth.send(ResourceHeartbeatAnswerSchema, 'POST', '/v1/resources/heartbeat', body, asNode);
          revision = Math.max(revision, r.revision);
        }
        // Read-your-writes: once the agent hears back, this proxy routes to it and to its resources.
        await view.caughtUp(revision);
        // The cluster's time: the agent learns how far off its own clock is (certificates are checked against it).
        return { ok: true, time: view.clock.now() };
      },
    ],
    [
      'GET',
      /^\/webapi\/agent\/state$/,
      async ({ who }) => {
        requireKind(who, 'node');
        const [cas, ping] = await Promise.all([view.cas(), view.ping()]);
        return {
          userCa: cas.userCa,
          hostCa: cas.hostCa,
          tlsCa: cas.tlsCa,
          rotation: cas.rotation,
          sessionRecording: ping.sessionRecording,
          // The snapshot an agent's replica starts from; changes follow from /webapi/agent/changes.
          ...view.replica.snapshot(AGENT_KINDS),
        };
      },
    ],
    [
      'GET',
      /^\/webapi\/agent\/changes$/,
      async ({ who, query, req }) => {
        requireKind(who, 'node');
        const after = Number(query.get('after') ?? Number.NaN);
        if (!Number.isInteger(after) || after < 0) throw new BadParameter('after must be a revision');
        const waitMs = Math.min(Number(query.get('waitMs') ?? 0) || 0, MAX_WAIT_MS);
        await view.replica.ready();
        return whileConnected(req, (signal) => view.replica.feed.since(after, { waitMs, kinds: AGENT_KINDS, signal }));
      },
    ],
    [
      'POST',
      /^\/webapi\/agent\/rotation$/,
      async ({ who, body, req }) => {
        requireKind(who, 'node');
        return auth.forward('POST', '/v1/rotation/report', body, { [FORWARDED_CERT]: peerCert(req)! });
      },
    ],
    [
      'POST',
      /^\/webapi\/agent\/db\/cert$/,
      // An ephemeral database client certificate: auth checks the forwarded user certificate in the body itself.
      async ({ who, body, req }) => {
        requireKind(who, 'node');
        return auth.forward('POST', '/v1/db/cert', body, { [FORWARDED_CERT]: peerCert(req)! });
      },
    ],
    [
      'POST',
      /^\/webapi\/agent\/app\/token$/,
      // An app identity token: auth checks the forwarded user certificate in the body itself.
      async ({ who, body, req }) => {
        requireKind(who, 'node');
        return auth.forward('POST', '/v1/apps/token', body, { [FORWARDED_CERT]: peerCert(req)! });
      },
    ],
    [
      'POST',
      /^\/webapi\/agent\/reissue$/,
      async ({ who, body, req }) => {
        requireKind(who, 'node');
        return auth.forward('POST', '/v1/certs/reissue', body, { [FORWARDED_CERT]: peerCert(req)! });
      },
    ],
    [
      'POST',
      /^\/webapi\/agent\/recordings\/([0-9a-f-]{36})$/,
      // Auth decides on the node's own certificate whether this node ran the session.
      async ({ who, body, params, req }) => {
        requireKind(who, 'node');
        return auth.forward('POST', `/v1/recordings/${params[0]}`, body, { [FORWARDED_CERT]: peerCert(req)! });
      },
    ],
    [
      'POST',
      /^\/webapi\/agent\/recordings\/([0-9a-f-]{36})\/parts\/(\d{1,6})$/,
      async ({ who, body, params, req }) => {
        requireKind(who, 'node');
        const path = `/v1/recordings/${params[0]}/parts/${params[1]}`;
        return auth.forward('POST', path, body, { [FORWARDED_CERT]: peerCert(req)! });
      },
    ],
    [
      'POST',
      /^\/webapi\/agent\/events$/,
      // Auth decides on the node's own certificate what this node may report, and names it as the server.
      async ({ who, body, req }) => {
        requireKind(who, 'node');
        const { events } = parseBody(EventsBody, body);
        return auth.forward('POST', '/v1/audit/events', { events }, { [FORWARDED_CERT]: peerCert(req)! });
      },
    ],
  ];
}
