// A real TigerVNC `Xvnc` for desktop tests: a free display on loopback, VncAuth with a password file, a known
// background colour (`xsetroot -solid`), and the X tools tests read the desktop back with (xclip, xterm).
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Subprocess } from 'bun';
import { listening } from './desktopServerTools.ts';
import { freePort } from './sshd.ts';

const TOOLS = ['Xvnc', 'vncpasswd', 'xsetroot', 'xclip', 'xterm'];

/** Why desktop tests cannot run here (a missing tool), or undefined when they can. Tests `skipIf` on it. */
export const xvncMissing = (() => {
  const missing = TOOLS.filter((t) => !Bun.which(t));
  return missing.length
    ? `missing ${missing.join(', ')} (apt-get install tigervnc-standalone-server tigervnc-tools x11-xserver-utils xclip xterm)`
    : undefined;
})();

/** One running Xvnc: where it listens, its password, and helpers acting on its X display. */
export interface Xvnc extends AsyncDisposable {
  display: number;
  port: number;
  /** The VNC password the server asks for. */
  password: string;
  /** A file holding the password as `vncpasswd -f` writes it (what Xvnc itself reads). */
  passwordFile: string;
  width: number;
  height: number;
  /** Runs an X client on the display and waits for it (at most 10 s); its stdout. */
  x(argv: string[]): Promise<string>;
  /** Starts a long-running X client on the display (stopped at close). */
  spawn(argv: string[]): Subprocess;
  /** The X clipboard's text, or '' when nothing owns it. */
  clipboard(): Promise<string>;
  /** A scratch directory removed at close. */
  dir: string;
  close(): Promise<void>;
}

function freeDisplay(): number {
  for (let n = 40 + Math.floor(Math.random() * 400), i = 0; i < 200; i++, n = 40 + ((n - 39) % 400)) {
    if (!existsSync(`/tmp/.X${n}-lock`) && !existsSync(`/tmp/.X11-unix/X${n}`)) return n;
  }
  throw new Error('no free X display number in :40-:439');
}

/**
 * Starts `Xvnc :N -rfbport P -localhost -SecurityTypes VncAuth -PasswordFile F` on a free display and port, waits
 * (at most 10 s, polling) until it accepts connections, and paints the root window `colour`. Retries another display
 * if the one picked was taken meanwhile (at most 3 tries).
 */
export async function startXvnc(o: { colour?: string; width?: number; height?: number } = {}): Promise<Xvnc> {
  const dir = mkdtempSync(join(tmpdir(), 'tp-xvnc-'));
  const password = 'vnc-pw-1';
  const passwordFile = join(dir, 'passwd');
  const hashed = Bun.spawnSync(['vncpasswd', '-f'], { stdin: Buffer.from(`${password}\n`) });
  writeFileSync(passwordFile, hashed.stdout, { mode: 0o600 });
  const width = o.width ?? 320;
  const height = o.height ?? 240;
  const children: Subprocess[] = [];
  let server: Subprocess | undefined;
  let display = 0;
  let port = 0;
  for (let attempt = 0; attempt < 3 && !server; attempt++) {
    display = freeDisplay();
    port = await freePort();
    const child = Bun.spawn(
      [
        'Xvnc',
        `:${display}`,
        '-rfbport',
        String(port),
        '-localhost',
        '-nolisten',
        'tcp',
        '-SecurityTypes',
        'VncAuth',
        '-PasswordFile',
        passwordFile,
        '-geometry',
        `${width}x${height}`,
        '-depth',
        '24',
        '-AlwaysShared',
        // Tests fail a password on purpose; the blacklist would then refuse the next sessions from 127.0.0.1.
        '-UseBlacklist=0',
      ],
      { stdout: 'ignore', stderr: Bun.file(join(dir, `xvnc-${display}.log`)) },
    );
    const deadline = Date.now() + 10_000;
    while (child.exitCode === null && Date.now() < deadline && !(await listening(port))) await Bun.sleep(50);
    if (child.exitCode === null && (await listening(port))) server = child;
    else child.kill();
  }
  if (!server) {
    const logs = readLogs(dir);
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`Xvnc did not start: ${logs}`);
  }
  const env = { ...process.env, DISPLAY: `:${display}` };
  const x = async (argv: string[]) => {
    const p = Bun.spawn(argv, { env, stdout: 'pipe', stderr: 'pipe', timeout: 10_000 });
    const out = await new Response(p.stdout).text();
    await p.exited;
    return out;
  };
  await x(['xsetroot', '-solid', o.colour ?? '#00c060']);
  const close = async () => {
    for (const c of children) c.kill();
    server.kill();
    await server.exited;
    rmSync(dir, { recursive: true, force: true });
  };
  return {
    display,
    port,
    password,
    passwordFile,
    width,
    height,
    x,
    spawn: (argv) => {
      const c = Bun.spawn(argv, { env, stdout: 'ignore', stderr: 'ignore' });
      children.push(c);
      return c;
    },
    clipboard: () => x(['xclip', '-o', '-selection', 'clipboard']),
    dir,
    close,
    [Symbol.asyncDispose]: close,
  };
}

function readLogs(dir: string): string {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.log'))
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .join('\n');
}
