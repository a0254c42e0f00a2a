import { expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseHostPort } from '../net/index.ts';
import { startAuthServer } from './server.ts';

test('close() ends a connection still in its TLS handshake at once (it held shutdown for the handshake timeout)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tp-auth-close-'));
  try {
    const auth = await startAuthServer({
      clusterName: 'close.test',
      dataDir: dir,
      storage: { type: 'sqlite' },
      listen: '127.0.0.1:0',
    });
    const [host, port] = parseHostPort(auth.addr);
    // A client that connected and never says hello: the server holds it in the handshake.
    const raw = connect({ host, port });
    await new Promise<void>((resolve, reject) => raw.once('connect', resolve).once('error', reject));
    const closedByServer = new Promise<void>((resolve) => raw.once('close', () => resolve()));
    raw.on('error', () => undefined);
    const t0 = performance.now();
    await auth.close();
    await closedByServer;
    expect(performance.now() - t0).toBeLessThan(3_000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 20_000);
