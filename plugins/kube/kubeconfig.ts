// Reads the agent's credentials for one cluster from a kubeconfig file: the API server's address and CA, and the
// client certificate or bearer token the agent authenticates with (never an unverified server).
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { BadParameter } from '../../core/errors.ts';

/** How the agent reaches one API server. */
export interface ApiServerTarget {
  host: string;
  port: number;
  /** The name the server's certificate must carry (the URL's host, or the kubeconfig's `tls-server-name`). */
  servername: string;
  /** PEM CA(s) the server certificate is verified against; undefined means the system's. */
  ca?: string;
  cert?: string;
  key?: string;
  /** A bearer token (secret: never logged). */
  token?: string;
}

type Named<T> = { name?: string } & T;
type Doc = {
  'current-context'?: string;
  contexts?: Named<{ context?: { cluster?: string; user?: string } }>[];
  clusters?: Named<{ cluster?: Record<string, unknown> }>[];
  users?: Named<{ user?: Record<string, unknown> }>[];
};

function str(o: Record<string, unknown>, k: string): string | undefined {
  const v = o[k];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * Loads the context `context` (default: the file's current context) of the kubeconfig at `path`. Throws
 * BadParameter naming the file and what is missing or unsupported (insecure-skip-tls-verify, exec plugins).
 */
export function loadKubeconfig(path: string, context?: string): ApiServerTarget {
  const where = `kubeconfig ${path}`;
  let doc: Doc;
  try {
    doc = parse(readFileSync(path, 'utf8')) as Doc;
  } catch (err) {
    throw new BadParameter(`${where}: cannot read it: ${(err as Error).message}`);
  }
  const base = dirname(resolve(path));
  const file = (name: string) => readFileSync(resolve(base, name), 'utf8');
  const ctxName = context ?? doc['current-context'];
  const ctx = doc.contexts?.find((c) => c.name === ctxName)?.context;
  if (!ctx) throw new BadParameter(`${where}: no context "${ctxName ?? ''}"`);
  const cluster = doc.clusters?.find((c) => c.name === ctx.cluster)?.cluster;
  const user = doc.users?.find((u) => u.name === ctx.user)?.user ?? {};
  if (!cluster) throw new BadParameter(`${where}: context "${ctxName}" names no known cluster`);
  if (cluster['insecure-skip-tls-verify'] === true)
    throw new BadParameter(`${where}: insecure-skip-tls-verify is refused: the agent verifies the API server`);
  if (user.exec || user['auth-provider'])
    throw new BadParameter(
      `${where}: exec and auth-provider credentials are not supported; use a certificate or token`,
    );
  const server = str(cluster, 'server');
  if (!server) throw new BadParameter(`${where}: cluster "${ctx.cluster}" has no server`);
  const url = new URL(server);
  if (url.protocol !== 'https:') throw new BadParameter(`${where}: server ${server} is not https`);
  const decode = (k: string) => {
    const d = str(cluster, `${k}-data`) ?? str(user, `${k}-data`);
    return d ? Buffer.from(d, 'base64').toString('utf8') : undefined;
  };
  const ca = decode('certificate-authority') ?? maybe(str(cluster, 'certificate-authority'), file);
  const cert = decode('client-certificate') ?? maybe(str(user, 'client-certificate'), file);
  const key = decode('client-key') ?? maybe(str(user, 'client-key'), file);
  const token = str(user, 'token') ?? maybe(str(user, 'tokenFile'), file)?.trim();
  if (!token && !(cert && key)) throw new BadParameter(`${where}: user "${ctx.user}" has no certificate or token`);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return {
    host,
    port: url.port ? Number(url.port) : 443,
    servername: str(cluster, 'tls-server-name') ?? host,
    ca,
    cert,
    key,
    token,
  };
}

function maybe(name: string | undefined, read: (n: string) => string): string | undefined {
  return name ? read(name) : undefined;
}
