/**
 * Audit event types with stable codes (DESIGN.md, "Audit"). Codes never change meaning once shipped:
 * `T<number><I|W>`, I for success/information, W for failure/warning.
 */
export const EVENT_CODES = {
  'user.login': { ok: 'T1000I', fail: 'T1000W' },
  'user.create': { ok: 'T1002I' },
  'user.update': { ok: 'T1003I' },
  'user.delete': { ok: 'T1004I' },
  'user.password_change': { ok: 'T1005I', fail: 'T1005W' },
  'user.locked_out': { ok: 'T1006W' },
  'user.logout': { ok: 'T1007I' },
  'mfa.add': { ok: 'T1010I', fail: 'T1010W' },
  'mfa.remove': { ok: 'T1011I', fail: 'T1011W' },
  'sso.login': { ok: 'T1100I', fail: 'T1100W' },
  'sso.create': { ok: 'T1101I' },
  'sso.delete': { ok: 'T1102I' },
  'role.created': { ok: 'T9000I' },
  'role.deleted': { ok: 'T9001I' },
  'token.create': { ok: 'T9100I' },
  'token.delete': { ok: 'T9101I' },
  'lock.created': { ok: 'T9200I' },
  'lock.deleted': { ok: 'T9201I' },
  'cert.create': { ok: 'TC000I', fail: 'TC000W' },
  join: { ok: 'TJ001I', fail: 'TJ001W' },
  'node.create': { ok: 'TN001I' },
  'node.delete': { ok: 'TN002I' },
  'node.heartbeat': { fail: 'TN003W' },
  'auth.attempt': { fail: 'T3007W' },
  'resource.unreachable': { fail: 'T3008W' },
  'session.start': { ok: 'T2000I' },
  'session.end': { ok: 'T2004I' },
  'session.join': { ok: 'T2001I' },
  'recording.complete': { ok: 'T2005I' },
  'recording.upload_failed': { fail: 'T2006E' },
  'recording.evicted': { fail: 'T2007E' },
  exec: { ok: 'T3002I', fail: 'T3002E' },
  sftp: { ok: 'T3004I', fail: 'T3004E' },
  scp: { ok: 'T3005I' },
  port: { ok: 'T3003I' },
  'rotation.start': { ok: 'TR001I' },
  'rotation.phase': { ok: 'TR002I' },
  'rotation.rollback': { ok: 'TR003I' },
  'rotation.complete': { ok: 'TR004I' },
  'rotation.stalled': { fail: 'TR005W' },
  'cert.reissue': { ok: 'TC001I' },
  'audit.rejected': { fail: 'TA001W' },
  'bot.create': { ok: 'TB001I' },
  'bot.join': { ok: 'TB002I', fail: 'TB002W' },
  'bot.renew': { ok: 'TB003I', fail: 'TB003W' },
  'bot.locked': { ok: 'TB004W' },
  'bot.delete': { ok: 'TB005I' },
  // Plugin sessions (core/plugin/README.md): `<kind>.session.start/end` plus each protocol's own events.
  'db.session.start': { ok: 'TD000I', fail: 'TD000W' },
  'db.query': { ok: 'TD001I', fail: 'TD001W' },
  'db.session.end': { ok: 'TD002I' },
  // plugins/app-http: one web app connection (start/end) and each HTTP request on it.
  'app.session.start': { ok: 'T4000I', fail: 'T4000W' },
  'app.request': { ok: 'T4001I', fail: 'T4001W' },
  'app.session.end': { ok: 'T4002I' },
  // plugins/kube: one event per request kubectl sends through an agent.
  'kube.request': { ok: 'TK001I', fail: 'TK001W' },
  // ... and each port-forward connection (kube exec is an `exec` event, with `kube_cluster` and `pod`).
  port_forward: { ok: 'TK002I', fail: 'TK002W' },
  // plugins/desktop-vnc: desktop sessions and each clipboard transfer (its length, never its text).
  'desktop.session.start': { ok: 'TV000I', fail: 'TV000W' },
  'desktop.session.end': { ok: 'TV001I' },
  'desktop.clipboard.send': { ok: 'TV002I', fail: 'TV002W' },
  'desktop.clipboard.receive': { ok: 'TV003I', fail: 'TV003W' },
  // The conformance suite's echo plugin (test/fixtures/echoPlugin.ts): a kind every plugin check runs against.
  'echo.session.start': { ok: 'TX000I', fail: 'TX000W' },
  'echo.session.end': { ok: 'TX001I' },
} as const;

export type EventType = keyof typeof EVENT_CODES;

/** One audit event as stored and searched. Never carries secrets (passwords, tokens, private keys, OTP codes). */
export interface AuditEvent {
  /** Unique, time-ordered ID. */
  id: string;
  type: EventType;
  code: string;
  /** ISO 8601 time. */
  time: string;
  cluster: string;
  success: boolean;
  /** Who acted (user name, or the host ID of a node/proxy). */
  user?: string;
  /** Why it failed, for failures. */
  error?: string;
  /** Event-specific fields: login, server_id, server_name, session_id, addr.remote, target, roles, ttl ... */
  [field: string]: unknown;
}

/** What an emitter supplies; the log fills in id, code, time and cluster. */
export type AuditInput = { type: EventType; success?: boolean; user?: string; error?: string } & Record<
  string,
  unknown
>;

/** The code of an event type for success or failure. */
export function codeOf(type: EventType, success: boolean): string {
  const codes = EVENT_CODES[type] as { ok?: string; fail?: string };
  return (success ? codes.ok : codes.fail) ?? codes.ok ?? codes.fail ?? 'T0000I';
}
