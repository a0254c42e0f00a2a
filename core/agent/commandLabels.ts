import { spawnSync } from 'node:child_process';

/** A label whose value is the trimmed output of a command, refreshed every `periodMs`. */
export interface CommandLabel {
  name: string;
  command: string[];
  periodMs: number;
}

/**
 * Runs each command label once now and then every `periodMs`, writing its value into `labels` (a failed command
 * reads `error: exit N`). Returns the timers, for the owner to clear on close.
 */
export function startCommandLabels(
  labels: Record<string, string>,
  commandLabels: readonly CommandLabel[],
): ReturnType<typeof setInterval>[] {
  return commandLabels.map((cl) => {
    const run = () => {
      const r = spawnSync(cl.command[0]!, cl.command.slice(1), { encoding: 'utf8', timeout: 10_000 });
      labels[cl.name] = r.status === 0 ? r.stdout.trim() : `error: exit ${r.status}`;
    };
    run();
    return setInterval(run, cl.periodMs);
  });
}
