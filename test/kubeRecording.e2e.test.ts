// An interactive kubectl exec through tp start and a tp agent is a session recording: `tp play` replays what the
// container printed on the stdout channel, for kubectl 1.33 (WebSocket v5) and 1.29 (SPDY/3.1), and the exec event
// names the session.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as v from 'valibot';
import { run, tp } from './helpers/cli.ts';
import { waitFor } from './helpers/cluster.ts';
import { type KubeProxyCluster, startKubeProxyCluster } from './helpers/kubeProxyCluster.ts';

const ROLE = `kind: role
metadata: {name: kube-dev}
spec:
  allow: {kubernetes_labels: {env: dev}, kubernetes_users: [alice-k8s], kubernetes_groups: [devs]}
`;
const KUBECTL_DIR = dirname(realpathSync(Bun.which('kubectl') ?? '/usr/bin/kubectl'));
const Events = v.array(v.record(v.string(), v.unknown()));

describe('kubectl exec -it through tp is recorded and plays back with tp play', () => {
  let dir: string;
  let c: KubeProxyCluster;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tp-kube-rec-'));
    c = await startKubeProxyCluster(dir, ROLE);
    await c.addUser('alice', ['kube-dev']);
    await c.startAgent([{ name: 'k1' }]);
    await c.waitOnline('alice', ['k1']);
  }, 120_000);
  afterAll(async () => {
    await c?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const [version, binary] of [
    ['1.33', 'kubectl'],
    ['1.29', join(KUBECTL_DIR, 'kubectl.1.29')],
  ] as const) {
    test(`kubectl ${version}: exec -it under script, then tp play <session> prints its output`, async () => {
      const home = await c.kubeLogin('alice', 'k1');
      const mark = `rec-${version.replace('.', '-')}`;
      const flag = join(home.dir, 'resized');
      // The command waits (bounded) until the test saw a resize, so kubectl's terminal size reaches the stand-in.
      const script = `echo ${mark}-start; for i in $(seq 200); do [ -e ${flag} ] && break; sleep 0.05; done; echo ${mark}-end`;
      const cmd = home.command(['exec', '-it', 'p1', '--', 'sh', '-c', script], binary);
      const line = cmd.cmd.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
      const resizes = c.api.resizes.length;
      const running = run(['script', '-qec', `stty cols 80 rows 24; ${line}`, '/dev/null'], { env: cmd.env });
      await waitFor('the resize at the API server', () => c.api.resizes.length > resizes);
      writeFileSync(flag, '');
      const r = await running;
      expect(r.stdout).toContain(`${mark}-end`);
      let sessionId = '';
      await waitFor('the interactive exec event', async () => {
        const all = v.parse(
          Events,
          JSON.parse(await c.admin(['audit', 'search', '--type', 'exec', '--format', 'json'])),
        );
        const e = all.find((x) => x.tty === true && String(x.command).includes(mark));
        sessionId = typeof e?.session_id === 'string' ? e.session_id : '';
        return sessionId !== '' && e?.recorded === true && e?.kube_cluster === 'k1';
      });
      let played = '';
      await waitFor('the recording uploaded', async () => {
        const p = await tp(['play', sessionId, '--format', 'text', '--data-dir', join(dir, 'data')]);
        played = p.stdout;
        return p.code === 0 && played.includes(`${mark}-end`);
      });
      expect(played).toBe(`${mark}-start\n${mark}-end\n`);
    }, 60_000);
  }
});
