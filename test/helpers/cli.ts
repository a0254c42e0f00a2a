import { join } from 'node:path';

const entry = join(import.meta.dir, '..', '..', 'cmd', 'tp.ts');

/** The result of one command: exit code, output, and wall time. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command to completion with optional environment additions and stdin text, collecting its output. */
export async function run(
  cmd: string[],
  opts: { env?: Record<string, string>; stdin?: string } = {},
): Promise<CliResult> {
  const t0 = performance.now();
  const child = Bun.spawn(cmd, {
    env: { ...process.env, ...opts.env },
    stdin: opts.stdin === undefined ? 'ignore' : new TextEncoder().encode(opts.stdin),
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { code, stdout, stderr, ms: performance.now() - t0 };
}

/** Runs the real `tp` CLI in a child process, as a user at a shell would. */
export function tp(args: string[], opts: { env?: Record<string, string>; stdin?: string } = {}): Promise<CliResult> {
  return run([process.execPath, entry, ...args], { env: { TP_LOG_FORMAT: 'json', ...opts.env }, stdin: opts.stdin });
}
/** Like `tp`, but throws with stderr when the command fails. */
export async function tpOk(
  args: string[],
  opts: { env?: Record<string, string>; stdin?: string } = {},
): Promise<string> {
  const r = await tp(args, opts);
  if (r.code !== 0) throw new Error(`tp ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** A `tp` command still running: wait for a line of its stderr, then for its end. */
export interface RunningTp {
  /** Resolves with the first match of `re` in stderr so far or to come; rejects when the command ends first. */
  stderrMatch(re: RegExp, ms?: number): Promise<RegExpExecArray>;
  done(): Promise<CliResult>;
}

/** Starts the real `tp` CLI and lets the test act while it runs (e.g. drive a browser to the URL it prints). */
export function tpSpawn(args: string[], opts: { env?: Record<string, string> } = {}): RunningTp {
  const t0 = performance.now();
  const child = Bun.spawn([process.execPath, entry, ...args], {
    env: { ...process.env, TP_LOG_FORMAT: 'json', ...opts.env },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  });
  let stderr = '';
  const stderrDone = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of child.stderr) stderr += dec.decode(chunk, { stream: true });
  })();
  const stdout = new Response(child.stdout).text();
  const done = async () => {
    const [out, code] = await Promise.all([stdout, child.exited, stderrDone]);
    return { code: code as number, stdout: out, stderr, ms: performance.now() - t0 };
  };
  return {
    async stderrMatch(re, ms = 15_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const m = re.exec(stderr);
        if (m) return m;
        if (child.exitCode !== null) throw new Error(`tp ${args.join(' ')} ended (${child.exitCode}): ${stderr}`);
        if (Date.now() > deadline) throw new Error(`no ${re} in the stderr of tp ${args.join(' ')}: ${stderr}`);
        await Bun.sleep(20);
      }
    },
    done,
  };
}
