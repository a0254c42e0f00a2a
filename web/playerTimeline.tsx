import { useMemo, useState } from 'preact/hooks';
import { type Command, findCommand } from './commands.ts';

/** A playback position as m:ss. */
export const clock = (ms: number) => {
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

/**
 * The session's commands beside the player, each with its time: a click seeks there, and "Jump to command" finds
 * the next command containing the typed text.
 */
export function PlayerTimeline({
  commands,
  times,
  at,
  onSeek,
}: {
  commands: readonly Command[];
  /** The playback time of each output event. */
  times: readonly number[];
  at: number;
  onSeek: (to: number) => void;
}) {
  const [query, setQuery] = useState('');
  const [missing, setMissing] = useState('');
  const timeOf = (c: Command) => times[c.event] ?? 0;
  // The command being shown: the last one run at or before the position.
  const current = useMemo(() => {
    let last = -1;
    for (const [i, c] of commands.entries()) if (timeOf(c) <= at) last = i;
    return last;
  }, [commands, times, at]);
  if (commands.length === 0) return <p class="muted">No shell commands were found in this recording.</p>;
  return (
    <section aria-labelledby="timeline-title" class="timeline">
      <h2 id="timeline-title">Commands</h2>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          const i = findCommand(commands, query, current);
          setMissing(i < 0 ? query : '');
          if (i >= 0) onSeek(timeOf(commands[i]!));
        }}
      >
        <label for="jump">Jump to command</label>
        <input id="jump" type="search" style="width:auto;flex:1" value={query} onInput={(e) => setQuery((e.target as HTMLInputElement).value)} />
        <button type="submit" class="secondary">
          Jump
        </button>
      </form>
      {missing && (
        <p class="error" role="alert">
          No command contains “{missing}”.
        </p>
      )}
      <ol class="commands" data-testid="commands">
        {commands.map((c, i) => (
          <li key={`${c.event}-${i}`}>
            <button
              type="button"
              class="command"
              aria-current={i === current ? 'step' : undefined}
              onClick={() => onSeek(timeOf(c))}
            >
              <span class="muted">{clock(timeOf(c))}</span> <code>{c.text}</code>
            </button>
          </li>
        ))}
      </ol>
    </section>
  );
}
