import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as v from 'valibot';
import { pemList } from '../crypto/pem.ts';
import { describe, errorFromWire, NotFound, Unavailable, WrongServer } from '../errors.ts';
import { type ServerRole, serverIdentityCheck } from '../net/serverRole.ts';

export type Method = 'GET' | 'POST' | 'DELETE';

/** Per-request options: `signal` stops the request early, `timeoutMs` gives it longer (long polls). */
export interface RequestOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

/**
 * How a caller checks an answer: a valibot schema, or a function that parses `data` and throws a typed error when it
 * is not what the caller expects (e.g. core/state/items.ts `parseSnapshot`).
 */
export type AnswerParser<T> = v.GenericSchema<unknown, T> | ((data: unknown) => T);

/** Checks an answer against its schema; a mismatch becomes an Unavailable naming the request and the field. */
export function parseAnswer<T>(parser: AnswerParser<T>, data: unknown, what: string): T {
  if (typeof parser === 'function') return parser(data);
  const r = v.safeParse(parser, data);
  if (r.success) return r.output;
  const issue = r.issues[0];
  const path = issue.path?.map((p: { key: unknown }) => String(p.key)).join('.') ?? '';
  throw new Unavailable(
    `the answer to ${what} is not what this client expects${path ? ` (field "${path}")` : ''}: ${issue.message}`,
  );
}

/** TLS credentials of an API caller. Without cert/key the caller is anonymous (join, ping, CA keys only). */
export interface ClientTls {
  /** CAs to trust (a PEM bundle or a list); system CAs when absent. */
  ca?: string | string[];
  cert?: string;
  key?: string;
  /** Do not verify the server (first contact only; callers warn). */
  insecure?: boolean;
  /**
   * The role the server's certificate must name before any request is sent (see serverRole.ts). Bun's fetch pools
   * no connection that has this check (measured: 0.18 ms per request pooled, 1.9 ms with a handshake each), so
   * one-shot clients that send credentials set it; long-lived server-to-server clients dial configured addresses.
   */
  serverRole?: ServerRole;
}

/** Loads the local admin identity that `tp ca start` writes into its data dir. */
export function loadAdminIdentity(dataDir: string): { tls: ClientTls; servers: string[] } {
  const dir = join(dataDir, 'admin');
  if (!existsSync(join(dir, 'tls.crt'))) {
    throw new NotFound(
      `no admin identity in ${dir}: start the auth service there first (tp ca start --data-dir ${dataDir})`,
    );
  }
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');
  return {
    tls: { ca: read('ca.crt'), cert: read('tls.crt'), key: read('tls.key') },
    servers: existsSync(join(dir, 'auth_servers')) ? read('auth_servers').split(/\s+/).filter(Boolean) : [],
  };
}

/**
 * Calls the auth API over mutual TLS. With several servers it uses the one that last answered and fails over to
 * the next when a server cannot be reached; HTTP errors are rethrown as the typed error the server sent.
 */
export class ApiClient {
  private current = 0;

  constructor(
    private readonly servers: string[],
    protected tls: ClientTls,
    protected readonly timeoutMs = 15_000,
    /** Prepended to every path (e.g. `/webapi/auth` to reach the auth API through the proxy). */
    protected readonly prefix = '',
  ) {
    if (servers.length === 0) throw new Unavailable('no auth server address given');
  }

  /**
   * Sends one request and returns its answer checked by `parser` (a schema or a parse function); a mismatch is an
   * Unavailable naming the request and the field.
   */
  async send<T>(
    parser: AnswerParser<T>,
    method: Method,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
    o: RequestOptions = {},
  ): Promise<T> {
    return parseAnswer(parser, await this.request(method, path, body, headers, o), `${method} ${path}`);
  }

  /**
   * Sends one request on behalf of another caller and returns the answer untouched, as `unknown`: for the proxy,
   * which relays auth's answer to the agent or browser that asked (and that parses it with its own schema).
   */
  forward(
    method: Method,
    path: string,
    body: unknown,
    headers: Record<string, string>,
    o: RequestOptions = {},
  ): Promise<unknown> {
    return this.request(method, path, body, headers, o);
  }

  /** Sends one request and returns the JSON answer as sent; `o` stops it early or gives it longer (long polls). */
  protected async request(
    method: Method,
    path: string,
    body: unknown,
    headers: Record<string, string>,
    o: RequestOptions,
  ): Promise<unknown> {
    let lastError: unknown;
    for (let i = 0; i < this.servers.length; i++) {
      const idx = (this.current + i) % this.servers.length;
      const server = this.servers[idx]!;
      let res: { status: number; text: string };
      try {
        res = await this.exchange(server, method, path, body, headers, o);
      } catch (err) {
        if (err instanceof WrongServer) throw err;
        if (o.signal?.aborted) throw new Unavailable('request cancelled', {}, { cause: err });
        lastError = err;
        continue;
      }
      this.current = idx;
      const text = res.text;
      let data: unknown;
      try {
        data = text ? JSON.parse(text) : undefined;
      } catch (err) {
        throw new Unavailable(`server ${server} answered ${res.status} with non-JSON`, {}, { cause: err });
      }
      if (res.status < 200 || res.status > 299) {
        const e = (data as { error?: { code: string; message: string } })?.error;
        throw errorFromWire(e?.code ?? 'internal', e?.message ?? `HTTP ${res.status}`);
      }
      return data;
    }
    throw new Unavailable(`cannot reach ${this.servers.join(' or ')}: ${describe(lastError)}`);
  }

  /**
   * One request to `server` and its answer's status and text (fetch with this client's TLS credentials); a
   * subclass may carry it another way. Throws when the server cannot be reached or the request is cancelled.
   */
  protected async exchange(
    server: string,
    method: Method,
    path: string,
    body: unknown,
    headers: Record<string, string>,
    o: RequestOptions,
  ): Promise<{ status: number; text: string }> {
    const res = await fetch(`https://${server}${this.prefix}${path}`, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: o.signal
        ? AbortSignal.any([o.signal, AbortSignal.timeout(o.timeoutMs ?? this.timeoutMs)])
        : AbortSignal.timeout(o.timeoutMs ?? this.timeoutMs),
      tls: {
        ca: this.tls.ca === undefined ? undefined : pemList(this.tls.ca),
        cert: this.tls.cert,
        key: this.tls.key,
        rejectUnauthorized: !this.tls.insecure,
        checkServerIdentity:
          this.tls.serverRole && !this.tls.insecure ? serverIdentityCheck(this.tls.serverRole, server) : undefined,
      },
    } as RequestInit);
    return { status: res.status, text: await res.text() };
  }

  /** Uses new TLS credentials from the next request on (after a CA rotation renewed them); the expected role stays. */
  setTls(tls: ClientTls): void {
    this.tls = { serverRole: this.tls.serverRole, ...tls };
  }

  /** A GET whose answer is checked by `parser` (see send). */
  get<T>(parser: AnswerParser<T>, path: string): Promise<T> {
    return this.send(parser, 'GET', path);
  }
  /** A POST whose answer is checked by `parser` (see send). */
  post<T>(parser: AnswerParser<T>, path: string, body: unknown): Promise<T> {
    return this.send(parser, 'POST', path, body);
  }
  /** A DELETE; its answer (an acknowledgement) is not looked at. */
  async del(path: string): Promise<void> {
    await this.request('DELETE', path, undefined, {}, {});
  }
}
