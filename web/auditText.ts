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
    if (Array.isArray(v) && v.length) return v.join(', ');
  }
  return '';
};
const who = (e: AuditEvent) => e.user || 'Someone';
const server = (e: AuditEvent) => str(e, 'server_name', 'server_hostname', 'target', 'server_id') || 'a server';
const as = (e: AuditEvent) => (str(e, 'login') ? ` as ${str(e, 'login')}` : '');
const db = (e: AuditEvent) => str(e, 'db_service', 'target') || 'a database';
const dbAs = (e: AuditEvent) => (str(e, 'db_user') ? ` as ${str(e, 'db_user')}` : '');
const desktop = (e: AuditEvent) => str(e, 'desktop_name', 'target') || 'a desktop';
const because = (e: AuditEvent) => (e.error ? `: ${e.error}` : '');
const by = (e: AuditEvent) => (e.user ? ` by ${e.user}` : '');
const ok = (e: AuditEvent, yes: string, no: string) => (e.success ? yes : `${no}${because(e)}`);

/** The node's SFTP actions: what was done, and what could not be done. */
const SFTP_VERBS: Record<string, [string, string]> = {
  read: ['read', 'read'],
  write: ['wrote', 'write'],
  remove: ['removed', 'remove'],
  mkdir: ['created the directory', 'create the directory'],
  rmdir: ['removed the directory', 'remove the directory'],
  rename: ['renamed', 'rename'],
  symlink: ['linked', 'link'],
  chmod: ['changed the attributes of', 'change the attributes of'],
};

/** A one-line description for people, per event type; every type the cluster records has one. */
export const DESCRIBE: Record<string, (e: AuditEvent) => string> = {
  'user.login': (e) =>
    ok(e, `${who(e)} logged in (${str(e, 'method') || 'password'})`, `${who(e)} failed to log in`),
  'user.create': (e) => `User ${str(e, 'target', 'name') || who(e)} was added${by(e)}`,
  'user.update': (e) => `User ${str(e, 'target', 'name') || who(e)} was changed${by(e)}`,
  'user.delete': (e) => `User ${str(e, 'target', 'name') || who(e)} was deleted${by(e)}`,
  'user.password_change': (e) => ok(e, `${who(e)} changed their password`, `${who(e)} failed to change their password`),
  'user.locked_out': (e) => `${who(e)} was locked out after too many failed logins`,
  'user.logout': (e) => `${who(e)} logged out`,
  'mfa.add': (e) => ok(e, `${who(e)} added a second factor`, `${who(e)} failed to add a second factor`),
  'mfa.remove': (e) => ok(e, `${who(e)} removed a second factor`, `${who(e)} failed to remove a second factor`),
  'sso.login': (e) => ok(e, `${who(e)} signed in with ${str(e, 'connector') || 'SSO'}`, `${who(e)} failed to sign in with SSO`),
  'sso.create': (e) => `SSO connector ${str(e, 'target', 'name')} was added${by(e)}`,
  'sso.delete': (e) => `SSO connector ${str(e, 'target', 'name')} was removed${by(e)}`,
  'role.created': (e) => `Role ${str(e, 'target', 'name')} was ${e.replaced ? 'replaced' : 'created'}${by(e)}`,
  'role.deleted': (e) => `Role ${str(e, 'target', 'name')} was deleted${by(e)}`,
  'token.create': (e) => `A join token for ${str(e, 'roles', 'role') || 'a server'} was created${by(e)}`,
  'token.delete': (e) => `A join token was deleted${by(e)}`,
  'lock.created': (e) => `A lock was created${by(e)}${str(e, 'message') ? `: ${str(e, 'message')}` : ''}`,
  'lock.deleted': (e) => `A lock was removed${by(e)}`,
  'cert.create': (e) => `Certificates were issued to ${who(e)}`,
  join: (e) => ok(e, `Server ${str(e, 'host', 'name')} joined the cluster`, `Server ${str(e, 'host', 'name')} failed to join`),
  'node.create': (e) => `Server ${str(e, 'host', 'name', 'host_id')} was registered`,
  'node.delete': (e) => `Server ${str(e, 'host', 'name', 'host_id')} was removed${by(e)}`,
  'node.heartbeat': (e) => `A heartbeat from ${str(e, 'host', 'name', 'host_id') || 'a server'} was refused${because(e)}`,
  'auth.attempt': (e) => `${who(e)} was refused access to ${server(e)}${as(e)}${because(e)}`,
  'resource.unreachable': (e) => `${who(e)} could not reach ${server(e)}${because(e)}`,
  'session.start': (e) => `${who(e)} started a session on ${server(e)}${as(e)}`,
  'session.end': (e) => `${who(e)}'s session on ${server(e)} ended`,
  'session.join': (e) => `${who(e)} joined a session on ${server(e)}`,
  'recording.complete': () => 'A session recording was stored',
  'recording.upload_failed': (e) => `A session recording could not be uploaded${because(e)}`,
  'recording.evicted': (e) => `A session recording was dropped before upload${because(e)}`,
  exec: (e) => `${who(e)} ran ${str(e, 'command') || 'a command'} on ${server(e)}${as(e)}`,
  sftp: (e) => {
    const path = str(e, 'path');
    const action = str(e, 'action');
    // The web terminal's transfers (the proxy names the file and its size).
    if (action === 'upload')
      return ok(e, `${who(e)} uploaded ${path} to ${server(e)}${as(e)}`, `${who(e)} failed to upload ${path}`);
    if (action === 'download')
      return ok(e, `${who(e)} downloaded ${path} from ${server(e)}${as(e)}`, `${who(e)} failed to download ${path}`);
    // The node's record of each file an SFTP session touched.
    const verb = SFTP_VERBS[action];
    if (!verb) return `${who(e)} opened SFTP on ${server(e)}${as(e)}`;
    const what = `${path}${str(e, 'target') ? ` to ${str(e, 'target')}` : ''}`;
    return ok(e, `${who(e)} ${verb[0]} ${what} on ${server(e)}${as(e)}`, `${who(e)} could not ${verb[1]} ${what} on ${server(e)}`);
  },
  scp: (e) => `${who(e)} copied files with scp on ${server(e)}`,
  port: (e) => `${who(e)} forwarded a port through ${server(e)}`,
  'rotation.start': (e) => `A rotation of the ${str(e, 'ca_types') || 'CA'} keys started${by(e)}`,
  'rotation.phase': (e) => `The CA rotation moved to ${str(e, 'phase') || 'its next phase'}`,
  'rotation.rollback': (e) => `The CA rotation was rolled back${by(e)}`,
  'rotation.complete': () => 'The CA rotation completed',
  'rotation.stalled': (e) => `The CA rotation is waiting${because(e)}`,
  'cert.reissue': (e) => `Server ${str(e, 'host', 'host_id')} renewed its certificates`,
  'bot.create': (e) => `Bot ${str(e, 'bot')} was created${by(e)}`,
  'bot.join': (e) => ok(e, `Bot ${who(e)} joined (instance ${str(e, 'instance')})`, 'A bot failed to join'),
  'bot.renew': (e) => ok(e, `Bot ${who(e)} renewed its certificates`, `Bot ${who(e)} failed to renew its certificates`),
  'bot.locked': (e) => `Bot ${str(e, 'bot') || who(e)} was locked: ${str(e, 'reason') || 'by an administrator'}`,
  'bot.delete': (e) => `Bot ${str(e, 'bot')} was deleted${by(e)}`,
  // Database sessions (plugins/db-*): the database as the cluster names it, and the user inside it.
  'db.session.start': (e) =>
    ok(e, `${who(e)} connected to database ${db(e)}${dbAs(e)}`, `${who(e)} was refused database ${db(e)}${dbAs(e)}`),
  'db.query': (e) =>
    ok(e, `${who(e)} ran ${str(e, 'statement', 'command') || 'a statement'} on ${db(e)}`, `A statement on ${db(e)} failed`),
  'db.session.end': (e) => `${who(e)}'s session on database ${db(e)} ended`,
  // Kubernetes requests (plugins/kube): verb and path, and who the request ran as inside the cluster.
  'kube.request': (e) =>
    ok(
      e,
      `${who(e)} ${str(e, 'verb') || 'sent'} ${str(e, 'path')} on Kubernetes cluster ${str(e, 'kube_cluster', 'target')}`,
      `${who(e)} was refused ${str(e, 'verb')} ${str(e, 'path')} on Kubernetes cluster ${str(e, 'kube_cluster', 'target')}`,
    ),
  port_forward: (e) =>
    ok(
      e,
      `${who(e)} forwarded port ${str(e, 'port') || '?'} of pod ${str(e, 'pod')} on Kubernetes cluster ${str(e, 'kube_cluster', 'target')}`,
      `${who(e)} was refused a port forward to pod ${str(e, 'pod')} on Kubernetes cluster ${str(e, 'kube_cluster', 'target')}`,
    ),
  // Web applications (plugins/app-http): the app as the cluster names it, then each request.
  'app.session.start': (e) =>
    ok(e, `${who(e)} opened app ${str(e, 'app_name', 'target')}`, `${who(e)} was refused app ${str(e, 'app_name', 'target')}`),
  'app.request': (e) =>
    ok(
      e,
      `${who(e)} ${str(e, 'method')} ${str(e, 'path')} on app ${str(e, 'app_name', 'target')}`,
      `A request to app ${str(e, 'app_name', 'target')} failed`,
    ),
  'app.session.end': (e) => `${who(e)}'s session on app ${str(e, 'app_name', 'target')} ended`,
  // Desktops (plugins/desktop-vnc): the desktop as the cluster names it, the login, and clipboard transfers by size.
  'desktop.session.start': (e) =>
    ok(e, `${who(e)} opened desktop ${desktop(e)}${as(e)}`, `${who(e)} was refused desktop ${desktop(e)}${as(e)}`),
  'desktop.session.end': (e) => `${who(e)}'s session on desktop ${desktop(e)} ended`,
  'desktop.clipboard.send': (e) =>
    ok(
      e,
      `${who(e)} pasted ${str(e, 'length')} bytes into desktop ${desktop(e)}`,
      `${who(e)} was refused pasting into desktop ${desktop(e)}`,
    ),
  'desktop.clipboard.receive': (e) =>
    ok(
      e,
      `${who(e)} copied ${str(e, 'length')} bytes from desktop ${desktop(e)}`,
      `${who(e)} was refused copying from desktop ${desktop(e)}`,
    ),
  // The plugin conformance suite's echo plugin (test/fixtures/echoPlugin.ts).
  'echo.session.start': (e) =>
    ok(e, `${who(e)} opened echo ${str(e, 'echo_name', 'target')}`, `${who(e)} was refused echo ${str(e, 'echo_name', 'target')}`),
  'echo.session.end': (e) => `${who(e)}'s echo session on ${str(e, 'echo_name', 'target')} ended`,
  'audit.rejected': (e) => `An audit event was refused${because(e)}`,
};

/** The description of an event: its type's sentence, or the type itself for a type this UI does not know. */
export function describeEvent(e: AuditEvent): string {
  const d = DESCRIBE[e.type];
  // Names are written as they are: a sentence that starts with one is not capitalised.
  return d ? d(e) : `${e.type}${because(e)}`;
}

/** Whether an event belongs to a recorded session (its Play link). */
export const playable = (e: AuditEvent) =>
  typeof e.session_id === 'string' && /^[0-9a-f-]{36}$/.test(e.session_id) && e.type.startsWith('session.');
