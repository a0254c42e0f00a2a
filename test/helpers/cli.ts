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
