import { Terminal as XTerm } from '@xterm/xterm';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { RecordingSchema } from '../../core/api/schemas.ts';
import { apiOf, readable } from '../api.ts';
import { commandsOf } from '../commands.ts';
import { PlayControls } from '../playControls.tsx';
import { PlayerTimeline } from '../playerTimeline.tsx';
import { DesktopPlayer } from './DesktopPlayer.tsx';

type Event = [ms: number, stream: 'o' | 'e' | 'r', data: string];
interface Recording {
  meta: {
    sessionId: string;
    user: string;
    login: string;
    serverName: string;
    kind: string;
    startedAt: string;
    width?: number;
    height?: number;
  };
  events: Event[];
}

/** Idle gaps longer than this play as this long, so a replay never stalls (as `tp play` does). */
const MAX_GAP_MS = 2000;
const SPEEDS = [0.5, 1, 2, 4, 8];

/** The real time (ms since the session started) at a playback position, idle gaps counted in full. */
function realMs(events: Event[], times: number[], at: number): number {
  let i = 0;
  while (i + 1 < times.length && times[i + 1]! <= at) i++;
  if (events.length === 0 || times.length !== events.length) return 0;
  return events[i]![0] + Math.max(0, Math.min(at - times[i]!, MAX_GAP_MS));
}

/**
 * Plays a recorded session in a terminal: play, pause, speed and seek, the wall-clock time of the moment shown,
 * a link to it (`?t=SECONDS` opens the recording paused there), and the session's commands to jump to.
 */
export function Player({ id, startAt }: { id: string; startAt?: number }) {
  const box = useRef<HTMLDivElement>(null);
  const [rec, setRec] = useState<Recording | undefined>();
  const [error, setError] = useState('');
  const [playing, setPlaying] = useState(false);
  const [speed, setSpeed] = useState(1);
  const [at, setAt] = useState(0);
  const [copied, setCopied] = useState('');
  // The playback time of each event, as state too: a render must follow its computation even when `at` stays 0.
  const [times, setTimes] = useState<number[]>([]);
  const wall = (r: Recording, pos: number) =>
    new Date(Date.parse(r.meta.startedAt) + realMs(r.events, state.current.times, pos)).toISOString();
  const state = useRef({ term: undefined as XTerm | undefined, times: [] as number[], next: 0, at: 0 });

  useEffect(() => {
    apiOf(RecordingSchema, 'GET', `/webapi/ui/recordings/${id}`).then(setRec, (e) => setError(readable(e)));
  }, [id]);

  useEffect(() => {
    if (!rec || !box.current || rec.meta.kind === 'desktop') return;
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
    setTimes(times);
    setAt(0);
    // A link to a moment opens paused there; otherwise playback starts at once.
    if (startAt !== undefined && Number.isFinite(startAt) && startAt >= 0) {
      const to = Math.min(startAt, t);
      for (const [i, time] of times.entries()) {
        if (time > to) break;
        term.write(rec.events[i]![2]);
        state.current.next = i + 1;
      }
      state.current.at = to;
      setAt(to);
    } else setPlaying(true);
    return () => term.dispose();
  }, [rec, startAt]);

  const total = times.at(-1) ?? 0;
  const commands = useMemo(
    () => (rec?.meta.kind === 'desktop' ? [] : commandsOf(rec?.events.map((e) => e[2]) ?? [])),
    [rec],
  );

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

  if (rec?.meta.kind === 'desktop') return <DesktopPlayer rec={rec} startAt={startAt} />;
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
        <PlayControls playing={playing} at={at} total={total} onPlaying={setPlaying} onSeek={seek} />
        {rec && (
          <time class="muted" data-testid="player-wall" dateTime={wall(rec, at)}>
            {new Date(wall(rec, at)).toLocaleTimeString()}
          </time>
        )}
        <button
          type="button"
          class="secondary"
          onClick={() => {
            const link = `${location.origin}${location.pathname}?t=${(at / 1000).toFixed(1)}`;
            void navigator.clipboard.writeText(link).then(
              () => setCopied(link),
              () => setCopied(link),
            );
          }}
        >
          Copy link to this moment
        </button>
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
      {copied && (
        <p class="muted" role="status" data-testid="moment-link">
          Link: <code>{copied}</code>
        </p>
      )}
      <div class="player-wrap" ref={box} data-testid="player" />
      {rec && <PlayerTimeline commands={commands} times={times} at={at} onSeek={seek} />}
    </section>
  );
}
