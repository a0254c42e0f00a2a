// The kube agent's upgraded streams with stock kubectl 1.29 (SPDY/3.1) and 1.33 (WebSocket) through serve(): exec and
// port-forward pass byte for byte and are audited, an interactive exec is recorded to the spool, a lock ends a
// running exec within 1 s.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as v from 'valibot';
import { RecordingMetaSchema } from '../../core/api/schemas.ts';
import { listSpooled, parsePart, plainText } from '../../core/audit/recording.ts';
import { run } from '../../test/helpers/cli.ts';
import { type KubeAgentHarness, startKubeAgentHarness } from '../../test/helpers/kubeAgentHarness.ts';
import { curl, startPortForward } from '../../test/helpers/kubeStreams.ts';
import { until } from '../../test/helpers/pgAgentHarness.ts';

for (const minor of [29, 33]) {
  describe(`kube agent streams: stock kubectl 1.${minor} (${minor < 30 ? 'SPDY/3.1' : 'WebSocket'}) through serve()`, () => {
    let h: KubeAgentHarness;
    beforeAll(async () => {
      h = await startKubeAgentHarness({ minor, recording: true });
    });
    afterAll(async () => {
      await h?.close();
    });

    test("kubectl exec p1 -- sh -c 'exit 3' exits 3; one exec event with the pod, command and exit code", async () => {
      const r = await h.home().kubectl(['exec', 'p1', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
      expect(r.stdout).toBe('out\n');
      expect(r.stderr).toBe('err\ncommand terminated with exit code 3\n');
      expect(r.code).toBe(3);
      expect(h.api.requests.findLast((q) => q.target.includes('/exec'))!.headers['user-agent']).toStartWith(
        `kubectl/v1.${minor}.`,
      );
      await until('the exec event', () => h.events.some((e) => e.type === 'exec' && e.exit_code === 3));
      expect(h.events.findLast((e) => e.type === 'exec')).toMatchObject({
        success: false,
        user: 'alice@example.com',
        kube_cluster: 'k1',
        pod: 'p1',
        namespace: 'default',
        command: 'sh -c echo out; echo err >&2; exit 3',
        tty: false,
        exit_code: 3,
        kubernetes_user: 'alice',
        kubernetes_groups: ['devs', 'viewers'],
      });
      expect(h.events.findLast((e) => e.type === 'kube.request')).toMatchObject({ verb: 'exec', status: 101 });
    });

    test('kubectl exec -i delivers stdin and its end byte for byte (binary included); exit 0 is a successful exec', async () => {
      const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) % 256));
      const input = join(h.spoolDir, '..', `in-${minor}.bin`);
      writeFileSync(input, bytes);
      const c = h.home().command(['exec', '-i', 'p1', '--', 'sha256sum']);
      const child = Bun.spawn(c.cmd, { env: { ...process.env, ...c.env }, stdin: Bun.file(input), stdout: 'pipe' });
      const out = await new Response(child.stdout).text();
      expect(await child.exited).toBe(0);
      const want = new Bun.CryptoHasher('sha256').update(bytes).digest('hex');
      expect(out.split(' ')[0]).toBe(want);
      await until('the exec event', () => h.events.some((e) => e.type === 'exec' && e.command === 'sha256sum'));
      expect(h.events.findLast((e) => e.type === 'exec')).toMatchObject({ success: true, exit_code: 0 });
    });

    test('kubectl exec -it under script is recorded: the stdout channel with timing, playable from the spool', async () => {
      const home = h.home();
      const flag = join(home.dir, 'resized');
      const script = `echo rec-start; for i in $(seq 200); do [ -e ${flag} ] && break; sleep 0.05; done; echo rec-end`;
      const c = home.command(['exec', '-it', 'p1', '--', 'sh', '-c', script]);
      const line = c.cmd.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
      const before = h.api.resizes.length;
      const running = run(['script', '-qec', `stty cols 90 rows 20; ${line}`, '/dev/null'], { env: c.env });
      await until('the resize', () => h.api.resizes.length > before);
      writeFileSync(flag, '');
      const r = await running;
      expect(r.stdout).toContain('rec-end');
      await until('the interactive exec event', () => h.events.some((e) => e.type === 'exec' && e.tty === true));
      const event = h.events.findLast((e) => e.type === 'exec')!;
      expect(event).toMatchObject({ success: true, tty: true, recorded: true });
      const spooled = listSpooled(h.spoolDir).find((s) => s.meta.sessionId === event.session_id)!;
      expect(v.parse(RecordingMetaSchema, spooled.meta)).toMatchObject({
        kind: 'exec',
        status: 'complete',
        user: 'alice@example.com',
        login: 'alice',
        serverName: 'k1',
        width: 90,
        height: 20,
      });
      const events = spooled.parts.flatMap((n) =>
        parsePart(readFileSync(join(spooled.dir, `part-${String(n).padStart(6, '0')}.jsonl`), 'utf8')),
      );
      expect(plainText(events)).toBe('rec-start\nrec-end\n');
      expect(events.every((e) => e[1] === 'o')).toBe(true);
      const times = events.map((e) => e[0]);
      expect(times).toEqual([...times].sort((a, b) => a - b));
      // Non-interactive execs are not recorded.
      expect(listSpooled(h.spoolDir).length).toBe(1);
    });

    test('kubectl port-forward then curl returns the pod’s answer; one port_forward event per connection', async () => {
      const before = h.events.filter((e) => e.type === 'port_forward').length;
      const pf = await startPortForward(h.home(), 'p1', 8080);
      try {
        for (const path of ['/one', '/two'])
          expect((await curl(`http://127.0.0.1:${pf.port}${path}`)).body).toBe(h.api.podAnswer);
      } finally {
        await pf.stop();
      }
      await until(
        'two port_forward events',
        () => h.events.filter((e) => e.type === 'port_forward').length === before + 2,
      );
      expect(h.events.findLast((e) => e.type === 'port_forward')).toMatchObject({
        success: true,
        user: 'alice@example.com',
        kube_cluster: 'k1',
        pod: 'p1',
        namespace: 'default',
        port: '8080',
      });
    });

    test('a lock (the session signal) ends a running exec within 1 s, kubectl saying why where SPDY lets it', async () => {
      const home = h.home();
      const started = join(home.dir, 'started');
      const c = home.command(['exec', 'p1', '--', 'sh', '-c', `touch ${started}; sleep 30`]);
      const child = Bun.spawn(c.cmd, { env: { ...process.env, ...c.env }, stdout: 'pipe', stderr: 'pipe' });
      await until('the command running in the pod', () => existsSync(started));
      const t0 = performance.now();
      h.abortAll(new Error('the session is locked'));
      const code = await child.exited;
      expect(performance.now() - t0).toBeLessThan(1_000);
      expect(code).not.toBe(0);
      // SPDY has a place for the reason (the error stream); over WebSocket kubectl reports the cut connection.
      if (minor < 30)
        expect(await new Response(child.stderr).text()).toContain('tp: the session ended: the session is locked');
      await until('the stand-in saw the exec end', () => h.api.execsRunning() === 0);
    });
  });
}
