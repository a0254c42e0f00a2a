import { existsSync } from 'node:fs';
import { type ServerProcess, startServerProcess } from './serverProcess.ts';

/** True when TigerVNC's Xvnc and the X tools the desktop tests draw with are installed. */
export const haveXvnc = () => ['/usr/bin/Xvnc', '/usr/bin/xsetroot', '/usr/bin/xterm'].every(existsSync);

/** A real X server with a VNC port (TigerVNC Xvnc, security type None) on a free display, loopback only. */
export interface XvncDesktop extends AsyncDisposable {
  /** `127.0.0.1:<rfb port>`. */
  addr: string;
  /** `:<display>`, for X clients. */
  display: string;
  width: number;
  height: number;
  /** Runs an X client on the display and waits for it to exit (`xsetroot -solid ...`). */
  run(argv: string[]): Promise<{ code: number; out: string }>;
  /** Starts an X client on the display that keeps running (`xterm ...`) until close. */
  spawn(argv: string[]): void;
  close(): Promise<void>;
}

/**
 * Starts Xvnc on the first free display from a random one (other tests may hold displays), `width`x`height`, with
 * the root window painted `rootColour` by xsetroot. `extra` are more Xvnc flags (`-SecurityTypes VncAuth ...`).
 */
export async function startXvnc(o: { width?: number; height?: number; rootColour?: string; extra?: string[] } = {}) {
  const width = o.width ?? 640;
  const height = o.height ?? 480;
  let server: ServerProcess | undefined;
  let display = 0;
  for (let attempt = 0; attempt < 10 && !server; attempt++) {
    display = 100 + Math.floor(Math.random() * 800);
    if (existsSync(`/tmp/.X${display}-lock`) || existsSync(`/tmp/.X11-unix/X${display}`)) continue;
    const argv = [
      'Xvnc',
      `:${display}`,
      '-geometry',
      `${width}x${height}`,
      '-depth',
      '24',
      '-rfbport',
      String(5900 + display),
      '-interface',
      '127.0.0.1',
      '-SecurityTypes',
      'None',
      '-nolisten',
      'tcp',
      ...(o.extra ?? []),
    ];
    server = await startServerProcess(argv, 'Listening for VNC connections', 'Xvnc', 15_000).catch(() => undefined);
  }
  if (!server) throw new Error('no free X display for Xvnc after 10 tries');
  const env = { ...process.env, DISPLAY: `:${display}` };
  const clients: ReturnType<typeof Bun.spawn>[] = [];
  const run = async (argv: string[]) => {
    const p = Bun.spawn(argv, { env, stdout: 'pipe', stderr: 'pipe' });
    const out = await new Response(p.stdout).text();
    return { code: await p.exited, out };
  };
  if (o.rootColour) {
    const r = await run(['xsetroot', '-solid', o.rootColour]);
    if (r.code !== 0) throw new Error(`xsetroot failed (${r.code})`);
  }
  const close = async () => {
    for (const c of clients) c.kill();
    server.child.kill();
    await server.drained;
  };
  const desktop: XvncDesktop = {
    addr: `127.0.0.1:${5900 + display}`,
    display: `:${display}`,
    width,
    height,
    run,
    spawn: (argv) => {
      clients.push(Bun.spawn(argv, { env, stdout: 'ignore', stderr: 'ignore' }));
    },
    close,
    [Symbol.asyncDispose]: close,
  };
  return desktop;
}
