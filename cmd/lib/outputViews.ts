import type { JoinMethod } from '../../core/api/joinMethodSchemas.ts';
// What the CLI prints for the API's records: snake_case keys, ISO-8601 UTC times, null for "none" (the style of
// cmd/lib/outputSchemas.ts, whose types these functions return; the schemas themselves load only for json/yaml).

import type { BotView } from '../../core/api/botSchemas.ts';
import type { RotationState, RotationStatus } from '../../core/api/rotationSchemas.ts';
import type { NodeRecord, PublicToken, StoredLock } from '../../core/api/schemas.ts';
import type { PublicConnector } from '../../core/api/ssoSchemas.ts';
import type { RecordingMeta } from '../../core/audit/store.ts';
import type { PublicUser } from '../../core/auth/users.ts';
import type { Profile } from '../../core/client/profile.ts';
import type { SshBenchResult } from '../../core/client/sshBench.ts';
import type { Output } from './outputSchemas.ts';

/** A time (epoch ms or a parsable string) as ISO-8601 UTC; null for none (undefined, 0, ""). */
export function isoTime(t: number | string | undefined | null): string | null {
  if (t === undefined || t === null || t === 0 || t === '') return null;
  return new Date(t).toISOString();
}

/** Like isoTime, for a time that is always there. */
const iso = (t: number | string) => new Date(t).toISOString();

/** A node record as `tp nodes ls|add` print it. */
export function nodeView(n: NodeRecord): Output<'nodes add'> {
  return {
    host_id: n.hostId,
    name: n.name,
    addr: n.addr || null,
    labels: n.labels,
    tunnel: n.tunnel,
    agentless: !!n.agentless,
    version: n.version || null,
    last_seen: isoTime(n.lastSeen),
    link: n.link
      ? {
          state: n.link.state,
          reason: n.link.reason ?? null,
          skew_ms: n.link.skewMs ?? null,
          last_outage: n.link.lastOutage
            ? { reason: n.link.lastOutage.reason, from: iso(n.link.lastOutage.from), to: iso(n.link.lastOutage.to) }
            : null,
        }
      : null,
  };
}

/** A node the user may reach, as `tp ls` prints it. */
export function reachableNodeView(n: NodeRecord & { online: boolean }): Output<'ls'>[number] {
  return { ...nodeView(n), online: n.online };
}

/** A recording's metadata as `tp recordings ls|search` and `tp play` print it. */
export function recordingView(r: RecordingMeta): Output<'recordings ls'>[number] {
  return {
    session_id: r.sessionId,
    user: r.user,
    login: r.login,
    server_id: r.serverId,
    server_name: r.serverName,
    kind: r.kind,
    command: r.command ?? null,
    started_at: iso(r.startedAt),
    ended_at: isoTime(r.endedAt),
    status: r.status,
    parts: r.parts,
    bytes: r.bytes,
    error: r.error ?? null,
    width: r.width ?? null,
    height: r.height ?? null,
  };
}

/** A user as `tp users ls|add` print it (no secrets: the API's public view has none). */
export function userView(u: PublicUser): Output<'users ls'>[number] {
  return {
    name: u.name,
    roles: u.roles,
    traits: u.traits,
    created_at: iso(u.createdAt),
    has_password: u.hasPassword,
    has_totp: u.hasTotp,
    webauthn: u.webauthn,
    sso: u.sso ?? null,
    sso_subject: u.ssoSubject ?? null,
    locked_until: isoTime(u.lockedUntil),
  };
}

/** A join token's record (never its value) as `tp tokens ls` prints it. */
export function tokenView(t: PublicToken): Output<'tokens ls'>[number] {
  return {
    id: t.id,
    roles: t.roles,
    uses: t.uses,
    used_by: t.usedBy,
    created_at: iso(t.createdAt),
    expires: iso(t.expires),
    bot: t.bot ?? null,
    join_method: null,
    issuer: null,
    allow: null,
  };
}

/** A secretless join method as `tp tokens ls|add` print it, beside the secret tokens. */
export function joinMethodView(m: JoinMethod): Output<'tokens ls'>[number] {
  return {
    id: m.name,
    roles: ['bot'],
    uses: 'multi',
    used_by: [],
    created_at: iso(m.createdAt),
    expires: null,
    bot: m.bot,
    join_method: m.method,
    issuer: m.issuer,
    allow: m.allow.map(
      (r) => Object.fromEntries(Object.entries(r).filter(([, x]) => x !== undefined)) as Record<string, string>,
    ),
  };
}

/** A bot as `tp bots ls|add` print it, with its instances. */
export function botView(b: BotView): Output<'bots ls'>[number] {
  return {
    name: b.name,
    user: b.user,
    roles: b.roles,
    logins: b.logins,
    max_ttl_ms: b.maxTtlMs,
    created_at: iso(b.createdAt),
    instances: b.instances.map((i) => ({
      id: i.id,
      generation: i.generation,
      created_at: iso(i.createdAt),
      renewed_at: iso(i.renewedAt),
      locked: i.locked ? { at: iso(i.locked.at), reason: i.locked.reason } : null,
    })),
  };
}

/** A lock as `tp locks ls|add` print it; `expires` is null for a lock until removed. */
export function lockView(l: StoredLock): Output<'locks add'> {
  return {
    id: l.id,
    target: { user: l.target.user ?? null, node: l.target.node ?? null, resource: l.target.resource ?? null },
    message: l.message,
    created_at: iso(l.createdAt),
    created_by: l.createdBy,
    expires: isoTime(l.expires),
  };
}

/** The rotation state as `tp rotate start|phase|rollback` print it; before any rotation, id and times are null. */
export function rotationView(st: RotationState): Output<'rotate start'> {
  return {
    id: st.id || null,
    phase: st.phase,
    types: st.types,
    mode: st.mode,
    started_at: isoTime(st.started),
    phase_since: isoTime(st.phaseSince),
    grace_ms: st.graceMs,
    timeout_ms: st.timeoutMs,
    servers: st.servers.map((x) => ({ host_id: x.id, kind: x.kind, name: x.name })),
    stalled: st.stalled ? { since: iso(st.stalled.since), waiting: st.stalled.waiting } : null,
    last: st.last ? { id: st.last.id, result: st.last.result, ended_at: iso(st.last.at), types: st.last.types } : null,
  };
}

/** `tp rotate status`: the state, the CA keys, every tracked server's progress, and what automatic mode waits for. */
export function rotationStatusView(s: RotationStatus): Output<'rotate status'> {
  return {
    state: rotationView(s.state),
    cas: s.cas.map((c) => ({ type: c.type, active: c.active, trusted: c.trusted })),
    servers: s.servers.map((x) => ({
      host_id: x.id,
      kind: x.kind,
      name: x.name,
      rotation_id: x.rotationId || null,
      phase: x.phase ?? null,
      reported_at: isoTime(x.at),
      caught_up: x.caughtUp,
    })),
    waiting_for: s.waitingFor ?? null,
  };
}

/** An SSO connector as `tp sso ls|add` print it (the secret is never there, only whether one is set). */
export function connectorView(c: PublicConnector): Output<'sso ls'>[number] {
  const common = { name: c.name, client_id: c.clientId, has_secret: c.hasSecret, created_at: iso(c.createdAt) };
  if (c.kind === 'github')
    return {
      kind: 'github',
      ...common,
      endpoint_url: c.endpointUrl,
      api_url: c.apiUrl,
      teams_to_roles: c.teamsToRoles.map((m) => ({ org: m.org, team: m.team, roles: m.roles })),
    };
  return {
    kind: 'oidc',
    ...common,
    issuer: c.issuer,
    claims_to_roles: c.claimsToRoles.map((m) => ({ claim: m.claim, value: m.value, roles: m.roles })),
    scopes: c.scopes,
    username_claim: c.usernameClaim ?? null,
  };
}

/** The profile as `tp status` prints it: valid means its certificates are still good at `now`. */
export function profileView(p: Profile, now: number): Output<'status'> {
  return {
    proxy: p.proxy,
    cluster: p.cluster,
    user: p.user,
    logins: p.logins,
    expires: iso(p.expires),
    valid: p.expires > now,
    keys: p.dir,
  };
}

/** A `tp bench ssh` run: counts, and latencies in milliseconds. */
export function benchView(r: SshBenchResult): Output<'bench ssh'> {
  return {
    rate: r.rate,
    duration_ms: r.durationMs,
    started: r.started,
    ok: r.ok,
    errors: r.errors,
    skipped: r.skipped,
    first_error: r.firstError ?? null,
    p50_ms: r.p50,
    p90_ms: r.p90,
    p99_ms: r.p99,
    max_ms: r.max,
  };
}
