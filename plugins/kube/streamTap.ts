// Reads a copy of an upgraded exec or port-forward stream, never the bytes relayed: what the container printed on
// stdout and stderr (for the recording), the exit status from the error channel, the terminal size, and each
// port-forward connection. WebSocket exec (v4/v5.channel.k8s.io: [channel][payload] messages), SPDY/3.1 exec (streams
// told apart by their `streamtype` header) and port-forward over SPDY, raw or inside WebSocket binary messages.
import { describe } from '../../core/errors.ts';
import { log } from '../../core/log.ts';
import {
  controlFrame,
  dataFrame,
  decodeNameValues,
  encodeNameValues,
  HeaderCodec,
  SPDY,
  SpdyFrameReader,
  streamIdOf,
} from './spdy.ts';
import { WsReader } from './wsFrames.ts';

/** What a tap reports. */
export interface TapEvents {
  output?(data: Buffer, stream: 'o' | 'e'): void;
  /** The error channel's Status: the exit code (0 on Success), or a message for other failures. */
  status?(s: { exitCode?: number; message?: string }): void;
  resize?(size: { width: number; height: number }): void;
  /** One port-forward connection opened (its data stream). */
  forward?(f: { port: string; requestId: string }): void;
}

/** Feeds a copy of each direction's bytes. */
export interface StreamTap {
  fromClient(b: Buffer): void;
  fromServer(b: Buffer): void;
  /** Resolves once every byte fed so far was read (SPDY header blocks inflate asynchronously); frees the tap. */
  end(): Promise<void>;
  /**
   * Bytes that tell the client why tp ends the stream, to write after the last relayed server byte (undefined when
   * they cannot be added cleanly): for SPDY exec a failure Status on the error stream, since kubectl ≤ 1.29 reads a
   * cut connection as exit 0 or waits on its streams. Called again while the client goes on opening streams, it
   * answers those too.
   */
  farewell?(message: string): Buffer | undefined;
}

/** How the upgraded stream is framed, from the request's Upgrade and the protocol the server chose. */
export type TapProtocol = 'ws-exec' | 'spdy-exec' | 'ws-spdy-portforward' | 'spdy-portforward';

/** Reads the exec error channel's metav1.Status. */
export function execStatus(text: string): { exitCode?: number; message?: string } {
  let s: {
    status?: string;
    reason?: string;
    message?: string;
    details?: { causes?: { reason?: string; message?: string }[] };
  };
  try {
    s = JSON.parse(text);
  } catch {
    return { message: 'the error channel did not carry a Status' };
  }
  if (s.status === 'Success') return { exitCode: 0 };
  const cause = s.details?.causes?.find((c) => c.reason === 'ExitCode');
  if (s.reason === 'NonZeroExitCode' && cause?.message && /^\d+$/.test(cause.message))
    return { exitCode: Number(cause.message), message: s.message };
  return { message: s.message ?? 'the exec failed' };
}

function resizeOf(text: string): { width: number; height: number } | undefined {
  try {
    const j = JSON.parse(text) as { Width?: unknown; Height?: unknown };
    if (typeof j.Width === 'number' && typeof j.Height === 'number') return { width: j.Width, height: j.Height };
  } catch {
    // Not a size: the recording keeps the last good one.
  }
  return undefined;
}

/**
 * A guard that turns a direction's first parse error into one log line and silence for that direction only (a client
 * sending a malformed or oversized frame cannot stop the reading of the server's output): the relay never fails for
 * the tap.
 */
function guarded(what: string, tap: StreamTap): StreamTap {
  const wrap = (side: string, f: (b: Buffer) => void) => {
    let broken = false;
    return (b: Buffer) => {
      if (broken) return;
      try {
        f(b);
      } catch (err) {
        broken = true;
        log.warn(`kube ${what}: stopped reading the ${side}'s copy of the stream (audit may be incomplete)`, {
          error: describe(err),
        });
      }
    };
  };
  return { ...tap, fromClient: wrap('client', tap.fromClient), fromServer: wrap('server', tap.fromServer) };
}

/** The largest WebSocket message the tap reads (client-go and kubelet write at most 32 KiB at a time). */
const MAX_MESSAGE = 1024 * 1024;

function wsExecTap(ev: TapEvents): StreamTap {
  let status = '';
  const server = new WsReader((op, data) => {
    if (op !== 2 || data.length === 0) return;
    const ch = data[0]!;
    if (ch === 1) ev.output?.(data.subarray(1), 'o');
    else if (ch === 2) ev.output?.(data.subarray(1), 'e');
    else if (ch === 3) {
      status += data.subarray(1).toString();
      ev.status?.(execStatus(status));
    }
  }, MAX_MESSAGE);
  const client = new WsReader((op, data) => {
    if (op !== 2 || data[0] !== 4) return;
    const size = resizeOf(data.subarray(1).toString());
    if (size) ev.resize?.(size);
  }, MAX_MESSAGE);
  return { fromClient: (b) => client.push(b), fromServer: (b) => server.push(b), end: async () => undefined };
}

/** Reads the client's SYN_STREAMs (their headers in order through one zlib context) and both sides' data frames. */
function spdyTap(ev: TapEvents, ws: boolean): StreamTap {
  const types = new Map<number, string>();
  const inflate = new HeaderCodec(false);
  const clientFrames = new SpdyFrameReader();
  const serverFrames = new SpdyFrameReader();
  // Header blocks inflate asynchronously: every frame's handling is queued in arrival order; a failure ends reading.
  let queue: Promise<void> = Promise.resolve();
  let failed = false;
  const enqueue = (step: () => void | Promise<void>) => {
    queue = queue
      .then(() => (failed ? undefined : step()))
      .catch((err) => {
        if (!failed) log.warn('kube: stopped reading a SPDY stream copy', { error: describe(err) });
        failed = true;
      });
  };
  const errors = new Map<number, string>();
  let resizeText = '';
  const onClient = (b: Buffer) => {
    for (const f of clientFrames.push(b)) {
      if (f.control && f.type === SPDY.SYN_STREAM) {
        const id = streamIdOf(f.data);
        enqueue(async () => {
          const h = Object.fromEntries(decodeNameValues(await inflate.run(f.data.subarray(10))));
          types.set(id, h.streamtype ?? '');
          if (h.streamtype === 'data') ev.forward?.({ port: h.port ?? '', requestId: h.requestid ?? '' });
        });
      } else if (f.control && f.type === SPDY.HEADERS) {
        enqueue(async () => void (await inflate.run(f.data.subarray(4))));
      } else if (!f.control && f.data.length) {
        const id = f.streamId;
        const data = f.data;
        enqueue(() => {
          if (types.get(id) !== 'resize') return;
          resizeText += data.toString();
          for (let at = resizeText.indexOf('\n'); at >= 0; at = resizeText.indexOf('\n')) {
            const size = resizeOf(resizeText.slice(0, at));
            resizeText = resizeText.slice(at + 1);
            if (size) ev.resize?.(size);
          }
        });
      }
    }
  };
  const replied = new Set<number>();
  let serverHeaders = false;
  const onServer = (b: Buffer) => {
    for (const f of serverFrames.push(b)) {
      if (f.control) {
        if (f.type === SPDY.SYN_REPLY || f.type === SPDY.SYN_STREAM || f.type === SPDY.HEADERS) serverHeaders = true;
        if (f.type === SPDY.SYN_REPLY) replied.add(streamIdOf(f.data));
        continue;
      }
      const id = f.streamId;
      const { data, flags } = f;
      // After the client's headers already queued: a stream's type is known before its first reply data.
      enqueue(() => {
        const type = types.get(id);
        if (type === 'stdout' && data.length) ev.output?.(data, 'o');
        else if (type === 'stderr' && data.length) ev.output?.(data, 'e');
        else if (type === 'error') {
          const text = (errors.get(id) ?? '') + data.toString();
          errors.set(id, text);
          if (flags & SPDY.FLAG_FIN && text) ev.status?.(execStatus(text));
        }
      });
    }
  };
  const end = async () => {
    await queue;
    inflate.close();
  };
  // The farewell is incremental: called again while kubectl still opens streams, it answers the new ones.
  let padded = false;
  let told = false;
  const finished = new Set<number>();
  const farewell = (message: string) => {
    const left = padded ? 0 : serverFrames.leftInFrame();
    if (left === undefined) return undefined;
    padded = true;
    const out: Buffer[] = [Buffer.alloc(left)];
    // Streams the server has not answered get their SYN_REPLY (kubectl waits 30 s for one otherwise); stdout and
    // stderr their FIN (kubectl reads the error stream only after both ended); the error stream the Status and FIN.
    for (const id of types.keys())
      if (!replied.has(id)) {
        out.push(synReply(id, !serverHeaders));
        serverHeaders = true;
        replied.add(id);
      }
    for (const [id, type] of types)
      if ((type === 'stdout' || type === 'stderr') && !finished.has(id)) {
        out.push(dataFrame(id, SPDY.FLAG_FIN, Buffer.alloc(0)));
        finished.add(id);
      }
    const errorStream = [...types].find(([, t]) => t === 'error')?.[0];
    if (errorStream !== undefined && !told) {
      told = true;
      const status = Buffer.from(JSON.stringify({ metadata: {}, status: 'Failure', message, reason: 'Forbidden' }));
      out.push(dataFrame(errorStream, 0, status), dataFrame(errorStream, SPDY.FLAG_FIN, Buffer.alloc(0)));
    }
    return Buffer.concat(out);
  };
  if (!ws) return { fromClient: onClient, fromServer: onServer, end, farewell };
  const client = new WsReader((op, data) => op === 2 && onClient(data), MAX_MESSAGE);
  const server = new WsReader((op, data) => op === 2 && onServer(data), MAX_MESSAGE);
  return { fromClient: (b) => client.push(b), fromServer: (b) => server.push(b), end };
}

/**
 * A SYN_REPLY with no headers whose block continues the server's zlib stream as a stored (uncompressed) deflate
 * block: every SPDY header block ends at a sync-flush byte boundary, where a stored block may always follow. The
 * first block of a connection starts with the zlib header.
 */
function synReply(id: number, first: boolean): Buffer {
  const nv = encodeNameValues([]);
  const stored = Buffer.alloc(5);
  stored.writeUInt16LE(nv.length, 1);
  stored.writeUInt16LE(~nv.length & 0xffff, 3);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(id, 0);
  return controlFrame(
    SPDY.SYN_REPLY,
    0,
    Buffer.concat([head, first ? Buffer.from([0x78, 0x01]) : Buffer.alloc(0), stored, nv]),
  );
}

/** A tap for `protocol`, reporting to `ev`. */
export function streamTap(protocol: TapProtocol, ev: TapEvents): StreamTap {
  switch (protocol) {
    case 'ws-exec':
      return guarded('exec', wsExecTap(ev));
    case 'spdy-exec':
      return guarded('exec', spdyTap(ev, false));
    case 'spdy-portforward': {
      const { farewell: _, ...tap } = spdyTap(ev, false);
      return guarded('port-forward', tap);
    }
    case 'ws-spdy-portforward':
      return guarded('port-forward', spdyTap(ev, true));
  }
}

/** The tap protocol of an answered upgrade, or undefined for one tp does not read (the bytes still pass). */
export function tapProtocol(upgrade: string, chosen: string, sub: string): TapProtocol | undefined {
  const ws = upgrade.toLowerCase() === 'websocket';
  if (sub === 'exec' || sub === 'attach') {
    if (ws) return chosen === 'v5.channel.k8s.io' || chosen === 'v4.channel.k8s.io' ? 'ws-exec' : undefined;
    return upgrade.toLowerCase() === 'spdy/3.1' ? 'spdy-exec' : undefined;
  }
  if (sub === 'portforward') {
    if (ws) return chosen === 'SPDY/3.1+portforward.k8s.io' ? 'ws-spdy-portforward' : undefined;
    return upgrade.toLowerCase() === 'spdy/3.1' ? 'spdy-portforward' : undefined;
  }
  return undefined;
}
