import { afterEach, describe, expect, test } from 'bun:test';
import { MuxSession, type MuxStream } from '../../core/tunnel/mux.ts';
import { F_FIN, F_RST, F_SYN, INITIAL_WINDOW, T_DATA, T_PING, T_WINDOW } from '../../core/tunnel/muxFrame.ts';
import { waitFor } from '../helpers/cluster.ts';
import { FakeTunnelPeer, rssAfterGc } from '../helpers/fakeTunnelPeer.ts';
import { loopbackPair } from '../helpers/loopbackPair.ts';

/**
 * Issue 15, finding 6: a tunnel peer that ignores flow control must not be able to make the other side buffer
 * without bound. The session under test is real; its peer is a raw socket writing frames by hand.
 */

const MiB = 1024 * 1024;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A real session on one end of a loopback TCP connection, a fake peer on the other. */
async function attacked(side: 'client' | 'server', opts: { maxStreams?: number; maxBufferedBytes?: number } = {}) {
  const { c, s } = await loopbackPair();
  const [mine, theirs] = side === 'server' ? [s, c] : [c, s];
  const session = new MuxSession(mine, { side, keepaliveMs: 0, ...opts });
  const peer = new FakeTunnelPeer(theirs);
  const why = new Promise<string>((r) => session.onClose(r));
  cleanups.push(() => {
    session.close();
    c.destroy();
    s.destroy();
  });
  return { session, peer, why, mine };
}

describe('a tunnel peer that ignores flow control', () => {
  for (const side of ['server', 'client'] as const) {
    test(`flooding a stream nobody reads closes the session with a protocol error; memory stays bounded (${side} side)`, async () => {
      const { session, peer, why } = await attacked(side);
      let stream: MuxStream | undefined;
      let id: number;
      if (side === 'server') {
        // The proxy's side: it opens a relay stream whose client never reads.
        stream = session.open();
        id = await peer.openedStream();
      } else {
        // The agent's side: the peer opens a stream the agent accepts but does not read yet.
        session.onStream((st) => {
          stream = st;
        });
        id = 1001;
        peer.send(T_WINDOW, F_SYN, id);
        await waitFor('the stream to be accepted', () => !!stream);
      }
      const before = rssAfterGc();
      let peak = before;
      const sent = await peer.flood(id, 256 * MiB, INITIAL_WINDOW, () => {
        peak = Math.max(peak, process.memoryUsage().rss);
      });
      expect(await why).toBe(
        `protocol error: stream ${id} sent ${INITIAL_WINDOW} bytes with 0 bytes of its window left`,
      );
      expect(session.isClosed).toBe(true);
      expect(stream!.abortReason).toStartWith('tunnel closed: protocol error');
      expect(sent).toBeLessThan(256 * MiB);
      expect((peak - before) / MiB).toBeLessThan(64);
    });
  }

  test('data after the end of a stream is a protocol error, not a crash', async () => {
    const { session, peer, why } = await attacked('server');
    session.open();
    const id = await peer.openedStream();
    peer.send(T_WINDOW, F_FIN, id);
    peer.send(T_DATA, 0, id, Buffer.from('more'));
    expect(await why).toBe(`protocol error: data on stream ${id} after its end`);
  });

  test('streams beyond the session limit are refused, the session stays up', async () => {
    const { session, peer } = await attacked('client', { maxStreams: 4 });
    const accepted: MuxStream[] = [];
    session.onStream((st) => accepted.push(st));
    for (let i = 0; i < 6; i++) peer.send(T_WINDOW, F_SYN, 2 + 2 * i);
    await peer.frame('the fifth stream refused', (f) => f.id === 10 && (f.flags & F_RST) !== 0);
    await peer.frame('the sixth stream refused', (f) => f.id === 12 && (f.flags & F_RST) !== 0);
    expect(accepted.map((s) => s.id)).toEqual([2, 4, 6, 8]);
    expect(session.isClosed).toBe(false);
    expect(() => session.open()).toThrow('the tunnel already carries 4 streams');
  });

  test('buffers summed over streams are capped: the stream that would pass the cap is reset', async () => {
    const { session, peer } = await attacked('client', { maxBufferedBytes: 2 * INITIAL_WINDOW });
    const accepted: MuxStream[] = [];
    session.onStream((st) => accepted.push(st));
    for (const id of [2, 4, 6]) {
      peer.send(T_WINDOW, F_SYN, id);
      peer.send(T_DATA, 0, id, Buffer.alloc(INITIAL_WINDOW)); // each within its own window
    }
    await peer.frame('the third stream reset', (f) => f.id === 6 && (f.flags & F_RST) !== 0);
    expect(accepted[2]!.abortReason).toStartWith('tunnel receive buffers are full');
    expect(session.bufferedBytes).toBe(2 * INITIAL_WINDOW);
    expect(session.isClosed).toBe(false);
  });

  test('a peer that grants credit but never reads cannot grow our outgoing queue', async () => {
    const { session, peer, mine } = await attacked('server');
    peer.sock.pause(); // never reads its side of the connection
    const st = session.open();
    const id = 2;
    peer.send(T_WINDOW, 0, id, 0x7fffffff); // "send me 2 GiB"
    await waitFor('the credit to arrive', () => st.sendWindow > INITIAL_WINDOW);
    const chunk = Buffer.alloc(MiB);
    let accepted = 0;
    while (accepted < 64 && st.write(chunk)) accepted++;
    expect(accepted).toBeLessThan(64);
    expect(mine.writableLength).toBeLessThan(3 * MiB);
  });

  test('a ping flood from a peer that never reads leaves no growing queue of answers', async () => {
    const { session, peer, mine } = await attacked('server');
    peer.sock.pause();
    let peakQueue = 0;
    // 2,000,000 pings in batches of 100: 24 MB of answers if every one were queued.
    for (let i = 0; i < 20_000; i++) {
      const batch: Buffer[] = [];
      for (let j = 0; j < 100; j++) batch.push(Buffer.from([0, T_PING, 0, F_SYN, 0, 0, 0, 0, 0, 0, 0, 1]));
      if (!peer.sock.write(Buffer.concat(batch))) await new Promise((r) => peer.sock.once('drain', r));
      peakQueue = Math.max(peakQueue, mine.writableLength);
      if (i % 1000 === 0) await Bun.sleep(0); // let the session read
    }
    expect(session.isClosed).toBe(false);
    expect(peakQueue).toBeLessThan(2 * MiB);
  });
});
