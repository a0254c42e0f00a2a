import { join } from 'node:path';

const entry = join(import.meta.dir, '..', '..', 'cmd', 'tp.ts');

/** The result of one `tp` invocation. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real `tp` CLI in a child process, as a user at a shell would. */
export async function tp(
  args: string[],
  opts: { env?: Record<string, string>; stdin?: string } = {},
): Promise<CliResult> {
  const child = Bun.spawn([process.execPath, entry, ...args], {
    env: { ...process.env, TP_LOG_FORMAT: 'json', ...opts.env },
    stdin: opts.stdin === undefined ? 'ignore' : new TextEncoder().encode(opts.stdin),
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { code, stdout, stderr };
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
