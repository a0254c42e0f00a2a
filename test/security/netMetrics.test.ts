import { afterAll, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/sshd.ts';

/**
 * Issue 15 (lower finding): `/metrics` on the proxy's public port answered anyone. It is now served only on a
 * listener of its own (`proxy.metrics_listen`, `auth.metrics_listen`), which is off unless configured.
 */

const entry = join(import.meta.dir, '..', '..', 'cmd', 'tp.ts');
const dir = mkdtempSync(join(tmpdir(), 'tp-net-metrics-'));
let child: ReturnType<typeof Bun.spawn> | undefined;
afterAll(async () => {
  child?.kill('SIGTERM');
  await child?.exited;
  rmSync(dir, { recursive: true, force: true });
});

const insecure = { tls: { rejectUnauthorized: false } } as RequestInit;

test('the public port and the auth port no longer serve /metrics; the metrics listeners do', async () => {
  const [authPort, proxyPort, authMetrics, proxyMetrics] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  writeFileSync(
    join(dir, 'tp.yaml'),
    [
      'cluster_name: metrics.test',
      `auth: {listen: 127.0.0.1:${authPort}, second_factor: "off", metrics_listen: 127.0.0.1:${authMetrics}}`,
      `proxy: {listen: 127.0.0.1:${proxyPort}, ssh_listen: 127.0.0.1:0, metrics_listen: 127.0.0.1:${proxyMetrics}}`,
      'ssh: {enabled: false}',
      '',
    ].join('\n'),
  );
  child = Bun.spawn(
    [process.execPath, entry, 'start', '--config', join(dir, 'tp.yaml'), '--data-dir', join(dir, 'd')],
    {
      stdout: 'pipe',
      stderr: 'ignore',
      env: { ...process.env, TP_LOG_FORMAT: 'json' },
    },
  );
  const reader = (child.stdout as ReadableStream<Uint8Array>).getReader();
  let banner = '';
  while (!banner.includes('then log in')) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`tp start exited: ${banner}`);
    banner += new TextDecoder().decode(value);
  }
  reader.releaseLock();

  for (const port of [proxyPort, authPort]) {
    const res = await fetch(`https://127.0.0.1:${port}/metrics`, insecure);
    const body = await res.text();
    expect(res.status).toBe(404);
    expect(body).not.toContain('_requests_total');
  }
  expect((await fetch(`https://127.0.0.1:${proxyPort}/healthz`, insecure)).status).toBe(200);

  const proxyText = await (await fetch(`http://127.0.0.1:${proxyMetrics}/metrics`)).text();
  expect(proxyText).toMatch(/^tp_proxy_tunnels \d+$/m);
  expect(proxyText).toContain('tp_proxy_requests_total');
  const authText = await (await fetch(`http://127.0.0.1:${authMetrics}/metrics`)).text();
  expect(authText).toContain('# TYPE tp_auth_requests_total counter');
  expect((await fetch(`http://127.0.0.1:${proxyMetrics}/webapi/ping`)).status).toBe(404);
});
