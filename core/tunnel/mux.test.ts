import { describe, expect, test } from 'bun:test';
import { loopbackPair } from '../../test/helpers/loopbackPair.ts';
import { MuxSession, type MuxStream } from './mux.ts';

type Opts = { keepaliveMs?: number; timeoutMs?: number };
async function pair(opts: Opts = {}, serverOpts: Opts = opts) {
  const { c, s } = await loopbackPair();
  return {
    client: new MuxSession(c, { side: 'client', ...opts }),
    server: new MuxSession(s, { side: 'server', ...serverOpts }),
    c,
    s,
  };
}

const readAll = (s: MuxStream) =>
  new Promise<Buffer>((resolve, reject) => {
    const parts: Buffer[] = [];
    s.on('data', (d: Buffer) => parts.push(d));
    s.on('end', () => resolve(Buffer.concat(parts)));
    s.on('error', reject);
  });

describe('tunnel multiplexer', () => {
  test('many concurrent streams carry their own bytes both ways, with backpressure', async () => {
    const { client, server } = await pair();
    server.onStream((st) => {
      st.pipe(st); // echo
    });
    const payloads = Array.from({ length: 20 }, (_, i) => Buffer.alloc(300_000 + i * 1000, i));
    const results = await Promise.all(
      payloads.map(async (p) => {
        const st = client.open();
        const got = readAll(st);
        st.end(p);
        return got;
      }),
    );
    for (const [i, r] of results.entries()) expect(r.equals(payloads[i]!)).toBe(true);
    expect(client.size).toBe(0);
    client.close();
  });

  test('small request/answer exchanges carry no window frames until a quarter of the window is used', async () => {
    const { client, server, c } = await pair();
    server.onStream((st) => st.pipe(st)); // echo
    // Count the window updates (type 1, no flags) the server sends; the client's socket sees every frame.
    let windowUpdates = 0;
    let wire = Buffer.alloc(0);
    c.on('data', (d: Buffer) => {
      wire = Buffer.concat([wire, d]);
      while (wire.length >= 12) {
        const len = wire.readUInt32BE(8);
        const data = wire[1] === 0;
        if (wire[1] === 1 && wire.readUInt16BE(2) === 0 && len > 0) windowUpdates++;
        const size = 12 + (data ? len : 0);
        if (wire.length < size) break;
        wire = wire.subarray(size);
      }
    });
    const st = client.open();
    const query = Buffer.alloc(100, 1);
    for (let i = 0; i < 200; i++) {
      const answer = new Promise<Buffer>((r) => st.once('data', r));
      st.write(query);
      expect((await answer).length).toBe(100);
    }
    // 200 × 100 bytes is under a quarter of the 256 KiB window: no credit needed yet (before: one per message).
    expect(windowUpdates).toBe(0);
    const bulk = Buffer.alloc(200_000, 2);
    let echoed = 0;
    const back = new Promise<void>((r) =>
      st.on('data', (d: Buffer) => {
        echoed += d.length;
        if (echoed >= bulk.length) r();
      }),
    );
    st.write(bulk);
    await back;
    // Past the quarter the peer is credited, in few frames (not one per chunk).
    expect(windowUpdates).toBeGreaterThan(0);
    expect(windowUpdates).toBeLessThan(10);
    client.close();
    server.close();
  });

  test('a slow reader holds the writer to one window (no unbounded buffering)', async () => {
    const { client, server } = await pair();
    let serverStream: MuxStream | undefined;
    server.onStream((st) => {
      serverStream = st;
      st.pause();
    });
    const st = client.open();
    let writes = 0;
    const chunk = Buffer.alloc(64 * 1024);
    while (st.write(chunk) && writes < 100) writes++;
    await Bun.sleep(100);
    expect(st.sendWindow).toBe(0);
    expect(writes).toBeLessThan(100);
    serverStream!.resume();
    await new Promise((r) => st.once('drain', r));
    client.close();
  });

  test('closing the connection ends every stream (close, with a reason), and onClose tells why', async () => {
    const { client, server, s } = await pair();
    server.onStream(() => undefined);
    const st = client.open();
    const closed = new Promise<void>((r) => st.on('close', () => r()));
    const why = new Promise<string>((r) => client.onClose(r));
    s.destroy();
    await closed;
    expect(st.abortReason).toBe('tunnel closed: connection closed');
    expect(await why).toBe('connection closed');
    expect(() => client.open()).toThrow('tunnel session is closed');
    server.close();
  });

  test('an unanswered keepalive closes the session', async () => {
    const { client, c, s } = await pair({ keepaliveMs: 30, timeoutMs: 90 }, { keepaliveMs: 0 });
    s.pause(); // the peer stops reading and answering
    const why = await new Promise<string>((r) => client.onClose(r));
    expect(why).toBe('keepalive timeout');
    c.destroy();
    s.destroy();
  });
});
