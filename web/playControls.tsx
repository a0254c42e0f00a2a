import { clock } from './playerTimeline.tsx';

/**
 * A player's Play/Pause button, position slider (10 ms steps) and `m:ss / m:ss` time, shared by the terminal and
 * desktop players. Play at the end starts again from the beginning.
 */
export function PlayControls({
  playing,
  at,
  total,
  onPlaying,
  onSeek,
}: {
  playing: boolean;
  at: number;
  total: number;
  onPlaying: (playing: boolean) => void;
  onSeek: (to: number) => void;
}) {
  return (
    <>
      <button
        type="button"
        data-testid="play"
        onClick={() => {
          if (!playing && at >= total) onSeek(0);
          onPlaying(!playing);
        }}
      >
        {playing ? 'Pause' : 'Play'}
      </button>
      <label class="sr-only" for="seek">
        Position
      </label>
      <input
        id="seek"
        type="range"
        min={0}
        max={Math.max(total, 1)}
        step={10}
        value={at}
        onInput={(e) => onSeek(Number((e.target as HTMLInputElement).value))}
      />
      <span class="muted" data-testid="player-time">
        {clock(at)} / {clock(total)}
      </span>
    </>
  );
}
