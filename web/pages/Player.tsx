import { Terminal as XTerm } from '@xterm/xterm';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, readable } from '../api.ts';

type Event = [ms: number, stream: 'o' | 'e', data: string];
interface Recording {
  meta: { sessionId: string; user: string; login: string; serverName: string; startedAt: string; width?: number; height?: number };
  events: Event[];
}

/** Idle gaps longer than this play as this long, so a replay never stalls (as `tp play` does). */
const MAX_GAP_MS = 2000;
const SPEEDS = [0.5, 1, 2, 4, 8];

const clock = (ms: number) => {
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

/** Plays a recorded session in a terminal: play, pause, speed and seek. */
export function Player({ id }: { id: string }) {
  const box = useRef<HTMLDivElement>(null);
  const [rec, setRec] = useState<Recording | undefined>();
  const [error, setError] = useState('');
  const [playing, setPlaying] = useState(false);
  const [speed, setSpeed] = useState(1);
  const [at, setAt] = useState(0);
  const state = useRef({ term: undefined as XTerm | undefined, times: [] as number[], next: 0, at: 0 });

  useEffect(() => {
    api<Recording>('GET', `/webapi/ui/recordings/${id}`).then(setRec, (e) => setError(readable(e)));
  }, [id]);

  useEffect(() => {
    if (!rec || !box.current) return;
    const term = new XTerm({
      cols: rec.meta.width ?? 80,
      rows: rec.meta.height ?? 24,
      disableStdin: true,
      convertEol: false,
      fontFamily: 'ui-monospace, Menlo, Consolas, monospace',
      theme: { background: '#10141c' },
    });
    term.open(box.current);
    // The playback timeline: real times with long idle gaps shortened.
    const times: number[] = [];
    let last = 0;
    let t = 0;
    for (const [ms] of rec.events) {
      t += Math.min(ms - last, MAX_GAP_MS);
      last = ms;
      times.push(t);
    }
    state.current = { term, times, next: 0, at: 0 };
    setAt(0);
    setPlaying(true);
    return () => term.dispose();
  }, [rec]);

  const total = state.current.times.at(-1) ?? 0;

  /** Writes every event up to `to` (from the start when going back). */
  const seek = (to: number) => {
    const s = state.current;
    if (!s.term || !rec) return;
    if (to < s.at) {
      s.term.reset();
      s.next = 0;
    }
    while (s.next < rec.events.length && s.times[s.next]! <= to) {
      s.term.write(rec.events[s.next]![2]);
      s.next++;
    }
    s.at = to;
    setAt(to);
  };

  useEffect(() => {
    if (!playing || !rec) return;
    let prev = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      const to = Math.min(state.current.at + (now - prev) * speed, total);
      prev = now;
      seek(to);
      if (to >= total) setPlaying(false);
    }, 30);
    return () => clearInterval(timer);
  }, [playing, speed, rec, total]);

  if (error)
    return (
      <p class="error" role="alert">
        {error}
      </p>
    );
  return (
    <section aria-labelledby="player-title">
      <h1 id="player-title">
        {rec ? `${rec.meta.user} as ${rec.meta.login} on ${rec.meta.serverName}` : 'Recording'}
      </h1>
      {rec && <p class="muted">{new Date(rec.meta.startedAt).toLocaleString()}</p>}
      <div class="player-bar">
        <button
          type="button"
          onClick={() => {
            if (!playing && state.current.at >= total) seek(0);
            setPlaying(!playing);
          }}
          data-testid="play"
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
          onInput={(e) => seek(Number((e.target as HTMLInputElement).value))}
        />
        <span class="muted" data-testid="player-time">
          {clock(at)} / {clock(total)}
        </span>
        <label class="sr-only" for="speed">
          Speed
        </label>
        <select id="speed" style="width:auto" value={speed} onChange={(e) => setSpeed(Number((e.target as HTMLSelectElement).value))}>
          {SPEEDS.map((s) => (
            <option key={s} value={s}>
              {s}×
            </option>
          ))}
        </select>
      </div>
      <div class="term-wrap" style="height:auto" ref={box} data-testid="player" />
    </section>
  );
}
