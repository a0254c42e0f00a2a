import type { Duplex, Transform } from 'node:stream';
import { createWebSocketStream, type WebSocket } from 'ws';
import { describe } from '../errors.ts';
import { log } from '../log.ts';

/**
 * Moves bytes both ways between a WebSocket (binary frames) and a stream until either side ends, with
 * backpressure: a slow browser pauses the stream (a frame is only sent once the last has left), a slow stream
 * stops reading frames. A text frame from the browser is a protocol error that ends the relay. `messages`, when
 * given, cuts the stream's bytes into the chunks each browser message carries (one per chunk).
 */
export function relayWebSocket(ws: WebSocket, upstream: Duplex, what: string, messages?: Transform): void {
  const frames = createWebSocketStream(ws, { highWaterMark: 1 << 20 });
  ws.on('message', (_data, isBinary) => {
    if (!isBinary) ws.close(1003, 'binary frames only');
  });
  const fail = (err: Error) => {
    log.debug(`${what}: relay failed`, { error: describe(err) });
    upstream.destroy();
    if (ws.readyState === ws.OPEN) ws.close(1011, 'the desktop connection failed');
  };
  frames.on('error', fail);
  upstream.on('error', fail);
  // The browser left: the stream goes too. The stream ended: the browser gets a clean close.
  frames.on('close', () => upstream.destroy());
  upstream.on('close', () => {
    if (ws.readyState === ws.OPEN) ws.close(1000, 'session ended');
  });
  if (messages) upstream.pipe(messages).pipe(frames, { end: false });
  else upstream.pipe(frames, { end: false });
  frames.pipe(upstream);
}
