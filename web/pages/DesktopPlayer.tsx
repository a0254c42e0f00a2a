import { useEffect, useRef, useState } from 'preact/hooks';
import { type DesktopChunk, DesktopReplay } from '../desktopReplay.ts';
import { PlayControls } from '../playControls.tsx';

/** A desktop recording as the player gets it: who, where, when, and the chunks the browser received. */
export interface DesktopRecording {
  meta: { user: string; login: string; serverName: string; startedAt: string };
  events: readonly DesktopChunk[];
}

const SPEEDS = [0.5, 1, 2, 4, 8];

/**
 * Plays a recorded desktop session in noVNC: play, pause, speed, and a position slider (going back replays from
 * the start, fast). `startAt` (ms) opens it paused there, as the terminal player does.
 */
export function DesktopPlayer({ rec, startAt }: { rec: DesktopRecording; startAt?: number }) {
  const screen = useRef<HTMLDivElement>(null);
  const replay = useRef<DesktopReplay | undefined>(undefined);
  const [playing, setPlaying] = useState(false);
  const [speed, setSpeed] = useState(1);
  const [at, setAt] = useState(0);
  const [total, setTotal] = useState(0);

  useEffect(() => {
    if (!screen.current) return;
    const r = new DesktopReplay(screen.current, rec.events);
    replay.current = r;
    setTotal(r.total);
    if (startAt !== undefined && Number.isFinite(startAt) && startAt >= 0) {
      const to = Math.min(startAt, r.total);
      r.seek(to);
      setAt(to);
    } else {
      r.seek(0);
      setPlaying(true);
    }
    return () => r.dispose();
  }, [rec, startAt]);

  const seek = (to: number) => {
    replay.current?.seek(to);
    setAt(to);
  };

  useEffect(() => {
    if (!playing) return;
    let prev = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      const pos = Math.min((replay.current?.position ?? 0) + (now - prev) * speed, total);
      prev = now;
      seek(pos);
      if (pos >= total) setPlaying(false);
    }, 30);
    return () => clearInterval(timer);
  }, [playing, speed, total]);

  const who = `${rec.meta.user}${rec.meta.login ? ` as ${rec.meta.login}` : ''} on desktop ${rec.meta.serverName}`;
  return (
    <section aria-labelledby="player-title">
      <h1 id="player-title">{who}</h1>
      <p class="muted">{new Date(rec.meta.startedAt).toLocaleString()}</p>
      <div class="player-bar">
        <PlayControls playing={playing} at={at} total={total} onPlaying={setPlaying} onSeek={seek} />
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
        <span class="muted" data-testid="player-state">
          {playing ? 'playing' : at >= total ? 'at the end' : 'paused'}
        </span>
      </div>
      <div class="desktop-frame desktop-replay">
        <div class="desktop-screen" ref={screen} data-testid="desktop-screen" />
      </div>
    </section>
  );
}
