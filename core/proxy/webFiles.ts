import type { IncomingMessage } from 'node:http';
import type { Client } from 'ssh2';
import type { AuditInput } from '../audit/events.ts';
import type { Identity } from '../auth/identity.ts';
import { AccessDenied, BadParameter, describe, TpError } from '../errors.ts';
import { cryptoIds, type IdSource } from '../ids.ts';
import { log } from '../log.ts';
import { liftBodyDeadline } from '../net/httpDeadlines.ts';
import { StreamResponse } from '../web/json.ts';
import type { Route } from '../web/router.ts';
import type { AccessRequest } from './accessGate.ts';
import { checkFileName, contentDisposition } from './fileNames.ts';
import { downloadFile, openSftp, realpath, remotePath, sftpError, stat, uploadFile } from './sftpTransfer.ts';
import { connectAsWebUser, type WebNodeDeps } from './webNodeClient.ts';
import { checkCsrf, type WebSession, type WebSessionStore } from './webSessions.ts';
import { requestOrigin } from './webUi.ts';

/** The web terminal's file transfer endpoints. */
export const UPLOAD_PATH = '/webapi/ui/files/upload';
export const DOWNLOAD_PATH = '/webapi/ui/files/download';
/** Largest upload taken (bytes): a file this size is a job for `tp scp`. */
export const MAX_UPLOAD_BYTES = 16 * 1024 ** 3;
/** An upload that sends nothing for this long is cut (ms). */
const UPLOAD_IDLE_MS = 60_000;

/** Settings of the file transfer routes. */
export interface WebFilesOptions extends WebNodeDeps {
  sessions: WebSessionStore;
  ids?: IdSource;
  maxUploadBytes?: number;
}

/**
 * The session of a file transfer request, with the web terminal's rules and the API's: the session cookie, the
 * session's CSRF token in its header (downloads too: a link from elsewhere cannot start one), and an Origin, where
 * the browser names one, that is ours; an upload must name it, as every browser does for a POST.
 */
async function transferSession(sessions: WebSessionStore, req: IncomingMessage): Promise<WebSession> {
  const origin = requestOrigin(req);
  if (req.method === 'POST' && !req.headers.origin)
    throw new AccessDenied('an upload must come from the web UI (no Origin)');
  const s = await sessions.require(req, origin);
  if (req.method === 'GET') checkCsrf(req, s, origin);
  return s;
}

/** The query parameters naming the node and login; both are needed. */
function target(query: URLSearchParams): { node: string; login: string } {
  const node = query.get('node') ?? '';
  const login = query.get('login') ?? '';
  if (!node || !login) throw new BadParameter('name the server (node) and the login');
  return { node, login };
}

/**
 * File upload and download from the web terminal, over SFTP on a connection the proxy opens to the node as the
 * session's user (the same path and access gate as the terminal: a lock or a login the roles deny is refused before
 * the node is dialled). Bodies stream both ways; neither is held in memory. Each transfer is audited as `sftp`
 * with its path, action and size (the node audits the SFTP session itself under the same session ID).
 */
export function webFileRoutes(o: WebFilesOptions): Route<Identity>[] {
  const ids = o.ids ?? cryptoIds;
  const max = o.maxUploadBytes ?? MAX_UPLOAD_BYTES;

  /** Connects for one transfer; refusals and unreachable nodes are audited as the terminal's are. */
  const connect = async (s: WebSession, query: URLSearchParams, remote: string, sessionId: string) => {
    const t = target(query);
    const access: AccessRequest & { principal: string } = {
      kind: 'node',
      via: 'web',
      who: s.who,
      target: t.node,
      principal: t.login,
      remote,
    };
    try {
      const { node, client } = await connectAsWebUser(o, s, access, sessionId);
      client.on('error', (err) => log.debug('web file transfer: connection error', { error: describe(err) }));
      return { node, client, login: t.login };
    } catch (err) {
      o.gate.refused(access, err);
      throw err;
    }
  };

  const audit = (e: Omit<AuditInput, 'type'>) => o.view.emit([{ type: 'sftp', via: 'web', ...e }]);

  /** Streams one upload's body to the node once the caller is known and allowed; audits how it ended. */
  const receive = async (req: IncomingMessage, query: URLSearchParams, remote: string) => {
    const s = await transferSession(o.sessions, req);
    const name = checkFileName(query.get('name') ?? '');
    const length = Number(req.headers['content-length'] ?? Number.NaN);
    if (!Number.isSafeInteger(length) || length < 0)
      throw new BadParameter('an upload must say its size (Content-Length)');
    if (length > max) throw new BadParameter(`the file is ${length} bytes; uploads take at most ${max} bytes`);
    const sessionId = ids.uuid();
    const { node, client, login } = await connect(s, query, remote, sessionId);
    const site = { node: node.name, login };
    const fields = {
      user: s.user,
      login,
      server_name: node.name,
      server_host_id: node.hostId,
      session_id: sessionId,
    };
    let path = query.get('dir') ?? '~';
    try {
      const sftp = await openSftp(client);
      const dir = await realpath(sftp, remotePath(path)).catch((err: unknown) => {
        throw sftpError(err, path, site);
      });
      path = `${dir.replace(/\/$/, '')}/${name}`;
      if (!(await stat(sftp, dir)).isDirectory()) throw new BadParameter(`${dir} on ${node.name} is not a directory`);
      // The caller is known and allowed: the body may now take as long as it streams.
      liftBodyDeadline(req);
      const r = await uploadFile(sftp, {
        dir,
        name,
        body: req,
        socket: req.socket,
        expected: length,
        tempId: ids.bytes(6).toString('hex'),
        idleMs: UPLOAD_IDLE_MS,
      }).catch((err: unknown) => {
        throw sftpError(err, path, site);
      });
      audit({ ...fields, action: 'upload', path: r.path, bytes: r.bytes });
      return { path: r.path, bytes: r.bytes, node: node.name, login };
    } catch (err) {
      audit({ ...fields, action: 'upload', path, success: false, error: messageOf(err) });
      throw err;
    } finally {
      client.end();
    }
  };

  return [
    [
      'POST',
      new RegExp(`^${UPLOAD_PATH}$`),
      async ({ req, res, query, remote }) => {
        // Nothing of the body is read until the caller is known and the node is ready for it (see pump).
        req.socket.pause();
        try {
          return await receive(req, query, remote);
        } catch (err) {
          // The rest of the body is not wanted: read it away and close the connection after the answer.
          res.setHeader('connection', 'close');
          req.resume();
          req.socket.resume();
          throw err;
        }
      },
      { streamBody: true },
    ],
    [
      'GET',
      new RegExp(`^${DOWNLOAD_PATH}$`),
      async ({ req, query, remote }) => {
        const s = await transferSession(o.sessions, req);
        const typed = query.get('path') ?? '';
        if (!typed.trim()) throw new BadParameter('name the file to download');
        const sessionId = ids.uuid();
        const { node, client, login } = await connect(s, query, remote, sessionId);
        const site = { node: node.name, login };
        const fields = {
          user: s.user,
          login,
          server_name: node.name,
          server_host_id: node.hostId,
          session_id: sessionId,
        };
        let file: Awaited<ReturnType<typeof downloadFile>>;
        try {
          const sftp = await openSftp(client);
          file = await downloadFile(sftp, remotePath(typed), site).catch((err: unknown) => {
            throw sftpError(err, typed, site);
          });
        } catch (err) {
          audit({ ...fields, action: 'download', path: typed, success: false, error: messageOf(err) });
          client.end();
          throw err;
        }
        const done = once(client, (sent: boolean) =>
          audit({
            ...fields,
            action: 'download',
            path: file.path,
            bytes: file.size,
            ...(sent ? {} : { success: false, error: 'the download was cut short' }),
          }),
        );
        file.body.once('end', () => done(true));
        file.body.once('close', () => done(false));
        return new StreamResponse(file.body, {
          'content-type': 'application/octet-stream',
          'content-length': file.size,
          'content-disposition': contentDisposition(file.path),
          'content-security-policy': "default-src 'none'; sandbox",
        });
      },
    ],
  ];
}

/** Runs `fn` once, then ends the SSH connection. */
function once(client: Client, fn: (ok: boolean) => void): (ok: boolean) => void {
  let ran = false;
  return (ok) => {
    if (ran) return;
    ran = true;
    fn(ok);
    client.end();
  };
}

const messageOf = (err: unknown) => (err instanceof TpError ? err.message : describe(err));
