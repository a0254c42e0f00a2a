/** One audit event as the proxy returns it. */
export interface AuditEvent {
  id: string;
  type: string;
  code: string;
  time: string;
  success: boolean;
  user?: string;
  error?: string;
  session_id?: string;
  [k: string]: unknown;
}

const str = (e: AuditEvent, ...keys: string[]) => {
  for (const k of keys) {
    const v = e[k];
    if (typeof v === 'string' && v) return v;
    if (typeof v === 'number') return String(v);
  }
  return '';
};
const who = (e: AuditEvent) => e.user || 'someone';
const server = (e: AuditEvent) => str(e, 'server_name', 'server_hostname', 'target', 'server_id') || 'a server';
const as = (e: AuditEvent) => (str(e, 'login') ? ` as ${str(e, 'login')}` : '');
const because = (e: AuditEvent) => (e.error ? `: ${e.error}` : '');
const ok = (e: AuditEvent, yes: string, no: string) => (e.success ? yes : `${no}${because(e)}`);

/** A one-line description for people, per event type; every type the cluster records has one. */
export const DESCRIBE: Record<string, (e: AuditEvent) => string> = {
  'user.login': (e) =>
    ok(e, `${who(e)} logged in (${str(e, 'method') || 'password'})`, `${who(e)} failed to log in`),
  'user.create': (e) => `user ${str(e, 'name', 'target') || who(e)} was added`,
  'user.update': (e) => `user ${str(e, 'name', 'target') || who(e)} was changed`,
  'user.delete': (e) => `user ${str(e, 'name', 'target') || who(e)} was deleted`,
  'user.password_change': (e) => ok(e, `${who(e)} changed their password`, `${who(e)} failed to change their password`),
  'user.locked_out': (e) => `${who(e)} was locked out after too many failed logins`,
  'user.logout': (e) => `${who(e)} logged out`,
  'mfa.add': (e) => ok(e, `${who(e)} added a second factor`, `${who(e)} failed to add a second factor`),
  'mfa.remove': (e) => ok(e, `${who(e)} removed a second factor`, `${who(e)} failed to remove a second factor`),
  'sso.login': (e) => ok(e, `${who(e)} signed in with ${str(e, 'connector') || 'SSO'}`, `${who(e)} failed to sign in with SSO`),
  'sso.create': (e) => `SSO connector ${str(e, 'name', 'connector')} was added`,
  'sso.delete': (e) => `SSO connector ${str(e, 'name', 'connector')} was removed`,
  'role.created': (e) => `role ${str(e, 'name', 'role')} was created or replaced`,
  'role.deleted': (e) => `role ${str(e, 'name', 'role')} was deleted`,
  'token.create': (e) => `a join token for ${str(e, 'roles', 'role') || 'a server'} was created`,
  'token.delete': () => 'a join token was deleted',
  'lock.created': (e) => `a lock was created${str(e, 'message') ? `: ${str(e, 'message')}` : ''}`,
  'lock.deleted': () => 'a lock was removed',
  'cert.create': (e) => `certificates were issued to ${who(e)}`,
  join: (e) => ok(e, `${str(e, 'host', 'name') || 'a server'} joined the cluster`, 'a server failed to join'),
  'node.create': (e) => `server ${str(e, 'name', 'host_id')} was registered`,
  'node.delete': (e) => `server ${str(e, 'name', 'host_id')} was removed`,
  'node.heartbeat': (e) => `a heartbeat from ${str(e, 'name', 'host_id') || 'a server'} was refused${because(e)}`,
  'auth.attempt': (e) => `${who(e)} was refused access to ${server(e)}${as(e)}${because(e)}`,
  'resource.unreachable': (e) => `${who(e)} could not reach ${server(e)}${because(e)}`,
  'session.start': (e) => `${who(e)} started a session on ${server(e)}${as(e)}`,
  'session.end': (e) => `${who(e)}'s session on ${server(e)} ended`,
  'session.join': (e) => `${who(e)} joined a session on ${server(e)}`,
  'recording.complete': () => 'a session recording was stored',
  'recording.upload_failed': (e) => `a session recording could not be uploaded${because(e)}`,
  'recording.evicted': (e) => `a session recording was dropped before upload${because(e)}`,
  exec: (e) => `${who(e)} ran ${str(e, 'command') || 'a command'} on ${server(e)}${as(e)}`,
  sftp: (e) => `${who(e)} opened SFTP on ${server(e)}${as(e)}`,
  scp: (e) => `${who(e)} copied files with scp on ${server(e)}`,
  port: (e) => `${who(e)} forwarded a port through ${server(e)}`,
  'rotation.start': (e) => `a ${str(e, 'ca', 'type') || 'CA'} rotation started`,
  'rotation.phase': (e) => `the CA rotation moved to ${str(e, 'phase') || 'its next phase'}`,
  'rotation.rollback': () => 'the CA rotation was rolled back',
  'rotation.complete': () => 'the CA rotation completed',
  'rotation.stalled': (e) => `the CA rotation is waiting${because(e)}`,
  'cert.reissue': (e) => `${str(e, 'host', 'host_id') || 'a server'} renewed its certificates`,
  'audit.rejected': (e) => `an audit event was refused${because(e)}`,
};

/** The description of an event: its type's sentence, or the type itself for a type this UI does not know. */
export function describeEvent(e: AuditEvent): string {
  const d = DESCRIBE[e.type];
  const text = d ? d(e) : `${e.type}${because(e)}`;
  // A sentence starts with a capital, unless it starts with a user's name (names are written as they are).
  return e.user && text.startsWith(e.user) ? text : text.charAt(0).toUpperCase() + text.slice(1);
}

/** Whether an event belongs to a recorded session (its Play link). */
export const playable = (e: AuditEvent) =>
  typeof e.session_id === 'string' && /^[0-9a-f-]{36}$/.test(e.session_id) && e.type.startsWith('session.');
