// The client side of the plugins' default framing (core/plugin/README.md): mutual TLS to the proxy on the plugin's
// ALPN id with the user's certificate, one JSON route line, one JSON answer line, then the protocol's raw bytes.
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import * as v from 'valibot';
import { pemList } from '../crypto/pem.ts';
import { BadParameter, errorFromWire, TpError, Unauthenticated, Unavailable } from '../errors.ts';
import { parseHostPort } from '../net/index.ts';
import { serverIdentityCheck } from '../net/serverRole.ts';
import { readHeader, writeHeader } from '../tunnel/header.ts';
import { proxyTlsError } from './nodeConnection.ts';
import { type Profile, profileTexts } from './profile.ts';

/** What a client asks the proxy for on a plugin's ALPN id. */
export interface PluginRouteRequest {
  /** The plugin's ALPN id (`tp-db-postgres`). */
  alpn: string;
  /** The resource's name. */
  target: string;
  /** The principal wanted there (the database user). */
  principal?: string;
  /** Protocol fields the agent reads (`db_user`, `db_name`). */
  route?: Record<string, string>;
}

/** The proxy's answer line: the resource reached, or the refusal as a wire error. */
export const PluginAnswerSchema = v.variant('ok', [
  v.object({
    ok: v.literal(true),
    resource: v.object({ kind: v.string(), name: v.string(), spec: v.optional(v.record(v.string(), v.unknown())) }),
  }),
  v.object({ ok: v.literal(false), error: v.object({ code: v.string(), message: v.string() }) }),
]);

/** The resource as the proxy named it in its answer. */
export type ReachedResource = Extract<v.InferOutput<typeof PluginAnswerSchema>, { ok: true }>['resource'];

/** An open connection to a resource through the proxy: after the answer, `sock` carries the protocol's bytes. */
export interface PluginConnection {
  sock: TLSSocket;
  resource: ReachedResource;
}

/**
 * Opens one connection to `req.target` through the profile's proxy: TLS with the profile's certificate on the
 * plugin's ALPN id, the route line, the answer. A refusal is thrown as the typed error the proxy sent (so exit codes
 * follow core/errors.ts); an unreachable proxy as Unavailable; no answer within `timeoutMs` as Unavailable.
 */
export async function dialPlugin(p: Profile, req: PluginRouteRequest, timeoutMs = 15_000): Promise<PluginConnection> {
  const [host, port] = parseHostPort(p.proxy);
  const t = profileTexts(p);
  const sock = tlsConnect({
    host,
    port,
    ca: pemList(t.cas),
    cert: t.tlsCert,
    key: t.tlsKey,
    ALPNProtocols: [req.alpn],
    servername: /^[\d.]+$|:/.test(host) ? undefined : host,
    checkServerIdentity: serverIdentityCheck('proxy', p.proxy),
  });
  try {
    await handshake(sock, p.proxy, req.alpn, timeoutMs);
    if (sock.alpnProtocol !== req.alpn) throw notServed(p.proxy, req.alpn);
    writeHeader(sock, {
      v: 1,
      target: req.target,
      ...(req.principal !== undefined && { principal: req.principal }),
      ...(req.route && { route: req.route }),
    });
    const answer = await readAnswer(sock, p.proxy, timeoutMs);
    if (!answer.ok) throw errorFromWire(answer.error.code, answer.error.message);
    return { sock, resource: answer.resource };
  } catch (err) {
    sock.destroy();
    throw err;
  }
}

function handshake(sock: TLSSocket, proxy: string, alpn: string, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Unavailable(`the proxy at ${proxy} did not finish the TLS handshake in ${timeoutMs} ms`)),
      timeoutMs,
    );
    sock.once('secureConnect', () => {
      clearTimeout(timer);
      resolve();
    });
    sock.once('error', (err) => {
      clearTimeout(timer);
      reject(
        /NO_APPLICATION_PROTOCOL/.test(err.message)
          ? notServed(proxy, alpn, err)
          : /ALERT_(UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_)/.test(err.message)
            ? certRefused(proxy, err)
            : proxyTlsError(proxy, err),
      );
    });
  });
}

/** The answer line; a proxy that closes or babbles instead of answering is Unavailable, naming the proxy. */
async function readAnswer(sock: TLSSocket, proxy: string, timeoutMs: number) {
  // With TLS 1.3 the proxy's verdict on our certificate (an alert) arrives after the handshake: keep it.
  let failure: Error | undefined;
  const onError = (err: Error) => {
    failure = err;
  };
  sock.on('error', onError);
  try {
    return await readHeader(sock, PluginAnswerSchema, 8192, timeoutMs);
  } catch (err) {
    if (failure) throw proxyTlsError(proxy, failure);
    // The proxy answers every route line it reads; a close right after the handshake is its TLS verdict on us.
    if (err instanceof BadParameter && /ended before/.test(err.message)) throw certRefused(proxy, err);
    if (err instanceof BadParameter)
      throw new Unavailable(`the proxy at ${proxy} gave no route answer: ${err.message}`, {}, { cause: err });
    throw err instanceof TpError ? err : proxyTlsError(proxy, err as Error);
  } finally {
    sock.off('error', onError);
  }
}

/** The proxy does not speak the plugin's ALPN id: an older proxy, or one built without the plugin. */
function notServed(proxy: string, alpn: string, cause?: Error): Unavailable {
  return new Unavailable(
    `the proxy at ${proxy} does not serve ${alpn} (its version or configuration lacks this plugin)`,
    { alpn },
    { cause },
  );
}

/** The proxy would not take the user's certificate (another cluster's CA, or one rotated out). */
function certRefused(proxy: string, cause: Error): Unauthenticated {
  return new Unauthenticated(
    `the proxy at ${proxy} refused your certificate (issued by another cluster, or before a CA rotation): ` +
      'run `tp login` again',
    {},
    { cause },
  );
}
