import { ApiClient, type ClientTls, type Method, type RequestOptions } from '../../core/api/client.ts';
import { describe, Unavailable } from '../../core/errors.ts';

/**
 * The auth API client of admin commands: when no auth server answers, the error says where the addresses came from
 * (a data dir's auth_servers file, --auth-server or TP_AUTH_SERVER), so a stale data dir is easy to spot.
 */
export class AdminApiClient extends ApiClient {
  constructor(
    servers: string[],
    tls: ClientTls,
    private readonly source: string,
  ) {
    super(servers, tls);
  }

  protected override async request(
    method: Method,
    path: string,
    body: unknown,
    headers: Record<string, string>,
    o: RequestOptions,
  ): Promise<unknown> {
    try {
      return await super.request(method, path, body, headers, o);
    } catch (err) {
      if (!(err instanceof Unavailable)) throw err;
      throw new Unavailable(
        `${describe(err)}; the address comes from ${this.source}: is that auth service running? ` +
          '(--data-dir DIR or --auth-server HOST:PORT to use another)',
        { source: this.source },
        { cause: err },
      );
    }
  }
}
