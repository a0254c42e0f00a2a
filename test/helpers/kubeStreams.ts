// Drives kubectl's long-running stream commands in tests: `kubectl port-forward` (waits for its "Forwarding from"
// line, then lets the test connect through it) and curl through the forwarded port.
import { run } from './cli.ts';
import type { KubectlHome } from './kubectl.ts';

/** A running `kubectl port-forward`. */
export interface PortForward {
  /** The local port kubectl listens on. */
  port: number;
  /** What kubectl printed on stderr so far. */
  stderr(): string;
  /** Ends kubectl; resolves with its exit code. */
  stop(): Promise<number>;
  /** Resolves with kubectl's exit code when it ends by itself. */
  exited: Promise<number>;
}

/** Starts `kubectl port-forward <pod> :<remote>` and resolves once kubectl says where it listens (within `ms`). */
export async function startPortForward(
  home: KubectlHome,
  pod: string,
  remote: number,
  opts: { binary?: string; ms?: number } = {},
): Promise<PortForward> {
  const c = home.command(['port-forward', pod, `:${remote}`], opts.binary);
  const child = Bun.spawn(c.cmd, { env: { ...process.env, ...c.env }, stdout: 'pipe', stderr: 'pipe' });
  let out = '';
  let err = '';
  const dec = new TextDecoder();
  void (async () => {
    for await (const chunk of child.stderr) err += dec.decode(chunk);
  })();
  const found = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`kubectl port-forward printed no port in time: ${err}`)),
      opts.ms ?? 15_000,
    );
    void (async () => {
      for await (const chunk of child.stdout) {
        out += dec.decode(chunk);
        const m = /Forwarding from 127\.0\.0\.1:(\d+) ->/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      }
      clearTimeout(timer);
      reject(new Error(`kubectl port-forward ended (${await child.exited}): ${err}`));
    })();
  });
  const port = await found.catch(async (e) => {
    child.kill();
    throw e;
  });
  return {
    port,
    stderr: () => err,
    exited: child.exited,
    stop: async () => {
      child.kill();
      return child.exited;
    },
  };
}

/** `curl -sS --max-time 10 <url>`: its exit code and body. */
export async function curl(url: string): Promise<{ code: number; body: string; stderr: string }> {
  const r = await run(['curl', '-sS', '--max-time', '10', url]);
  return { code: r.code, body: r.stdout, stderr: r.stderr };
}
