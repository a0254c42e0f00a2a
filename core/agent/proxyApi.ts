import { ApiClient, type ClientTls, type Method, type RequestOptions } from '../api/client.ts';
import { ProxyHttp } from './proxyHttp.ts';

/**
 * The agent's API client for its proxy: the same calls, checks and typed errors as ApiClient, carried on Bun's
 * native TLS sockets (proxyHttp.ts) instead of fetch, and only to a server whose certificate names a proxy.
 */
export class ProxyApiClient extends ApiClient {
  private readonly http: ProxyHttp;

  constructor(proxy: string, tls: ClientTls) {
    super([proxy], tls);
    this.http = new ProxyHttp(proxy, () => ({
      ca: this.tls.ca ?? [],
      cert: this.tls.cert ?? '',
      key: this.tls.key ?? '',
      serverRole: 'proxy',
    }));
  }

  protected override exchange(
    _server: string,
    method: Method,
    path: string,
    body: unknown,
    headers: Record<string, string>,
    o: RequestOptions,
  ): Promise<{ status: number; text: string }> {
    return this.http.send({
      method,
      path: this.prefix + path,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      timeoutMs: o.timeoutMs ?? this.timeoutMs,
      signal: o.signal,
    });
  }

  /** New credentials from the next request on: kept-alive connections made with the old ones are dropped. */
  override setTls(tls: ClientTls): void {
    super.setTls(tls);
    this.http.reset();
  }

  /** Closes the kept-alive connections; later requests fail. */
  close(): void {
    this.http.reset(true);
  }
}
