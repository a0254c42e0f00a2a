import type { Subprocess } from 'bun';

/** A server started by a test: its process, what it has logged on stderr so far, and a promise that ends with it. */
export interface ServerProcess {
  child: Subprocess<'ignore', 'ignore', 'pipe'>;
  log(): string;
  /** Resolves once the process's stderr has ended (after it exited). */
  drained: Promise<void>;
}

/**
 * Spawns `argv` and waits (polling, at most `ms`) until its stderr shows `ready`; kills it and throws with the log
 * when it exits first or the time runs out.
 */
export async function startServerProcess(
  argv: string[],
  ready: string,
  name: string,
  ms = 30_000,
): Promise<ServerProcess> {
  const child = Bun.spawn(argv, { stdout: 'ignore', stderr: 'pipe' });
  let logText = '';
  const decoder = new TextDecoder();
  const drained = (async () => {
    for await (const c of child.stderr) logText += decoder.decode(c);
  })();
  const deadline = Date.now() + ms;
  while (!logText.includes(ready)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill();
      throw new Error(`${name} did not start: ${logText}`);
    }
    await Bun.sleep(20);
  }
  return { child, log: () => logText, drained };
}
