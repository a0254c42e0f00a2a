import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { log } from '../log.ts';
import { parseHostPort } from '../net/index.ts';
import { send } from './json.ts';

/** A running metrics listener. */
export interface MetricsServer {
  /** `host:port` actually bound. */
  addr: string;
  close(): void;
}

/**
 * Serves `GET /metrics` (Prometheus text from `render`) in plain HTTP on its own address, apart from the public
 * and API ports; anything else is 404. Whoever can reach `listen` can read the metrics: keep it on loopback or a
 * private network.
 */
export async function startMetricsServer(listen: string, render: () => string): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/metrics') return send(res, 200, render(), 'text/plain; version=0.0.4');
    send(res, 404, { error: { code: 'not_found', message: 'only /metrics is served here' } });
  });
  const [host, port] = parseHostPort(listen);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  const h = a.address === '0.0.0.0' ? '127.0.0.1' : a.address === '::' ? '::1' : a.address;
  const addr = h.includes(':') ? `[${h}]:${a.port}` : `${h}:${a.port}`;
  log.info('metrics listener started', { addr });
  return { addr, close: () => server.close() };
}
