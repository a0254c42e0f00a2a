import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import {
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { editKubeconfig, kubeconfigPath } from './kubeconfigFile.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tp-kubeconfig-file-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const mode = (p: string) => statSync(p).mode & 0o777;

describe('the kubeconfig file tp kube login edits', () => {
  test('the first path of KUBECONFIG, else ~/.kube/config', () => {
    expect(kubeconfigPath({ KUBECONFIG: '/a/one:/b/two' }, '/home/u')).toBe('/a/one');
    expect(kubeconfigPath({ KUBECONFIG: ':/b/two' }, '/home/u')).toBe('/b/two');
    expect(kubeconfigPath({}, '/home/u')).toBe('/home/u/.kube/config');
    expect(kubeconfigPath({ KUBECONFIG: '' }, '/home/u')).toBe('/home/u/.kube/config');
  });

  test('a new file is made 0600 in a new 0700 directory; an open one is tightened to 0600', async () => {
    const path = join(dir, '.kube', 'config');
    await editKubeconfig(path, (text) => `${text}a: 1\n`);
    expect(readFileSync(path, 'utf8')).toBe('a: 1\n');
    expect(mode(path)).toBe(0o600);
    expect(mode(join(dir, '.kube'))).toBe(0o700);
    writeFileSync(path, 'a: 1\n', { mode: 0o644 });
    await editKubeconfig(path, (text) => `${text}b: 2\n`);
    expect(mode(path)).toBe(0o600);
    expect(readdirSync(join(dir, '.kube'))).toEqual(['config']);
  });

  test('a symlinked kubeconfig is edited where it lies and the link stays a link', async () => {
    const real = join(dir, 'real-config');
    writeFileSync(real, 'a: 1\n', { mode: 0o600 });
    const link = join(dir, 'config');
    symlinkSync(real, link);
    await editKubeconfig(link, (text) => `${text}b: 2\n`);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(real, 'utf8')).toBe('a: 1\nb: 2\n');
  });

  test('an edit that returns nothing, or throws, leaves the file and no lock behind', async () => {
    const path = join(dir, 'config');
    writeFileSync(path, 'a: 1\n', { mode: 0o644 });
    await editKubeconfig(path, () => undefined);
    expect(mode(path)).toBe(0o644);
    await expect(
      editKubeconfig(path, () => {
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    expect(readdirSync(dir)).toEqual(['config']);
  });

  test("edits from parallel processes under kubectl's lock file all land", async () => {
    const path = join(dir, 'config');
    const script = join(dir, 'edit.ts');
    // Each edit reads, then dawdles 50 ms before its write: without the lock, most edits would be lost.
    writeFileSync(
      script,
      `import { editKubeconfig } from ${JSON.stringify(join(import.meta.dir, 'kubeconfigFile.ts'))};\n` +
        'const i = process.argv[2];\n' +
        `await editKubeconfig(${JSON.stringify(path)}, (text) => { Bun.sleepSync(50); return text + 'k' + i + ': 1\\n'; });\n`,
    );
    const runs = Array.from({ length: 8 }, (_, i) => Bun.spawn([process.execPath, script, String(i)]));
    expect(await Promise.all(runs.map((r) => r.exited))).toEqual(Array(8).fill(0));
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    expect(lines.sort()).toEqual(Array.from({ length: 8 }, (_, i) => `k${i}: 1`));
  });

  test('a lock held by a live process is waited for; one left by a dead process is taken over', async () => {
    const path = join(dir, 'config');
    const lock = `${path}.lock`;
    const sleeper = Bun.spawn(['sleep', '30']);
    try {
      writeFileSync(lock, `${sleeper.pid}\n`);
      let done = false;
      const edit = editKubeconfig(path, () => 'a: 1\n').then(() => {
        done = true;
      });
      await Bun.sleep(200);
      expect(done).toBe(false);
      rmSync(lock);
      await edit;
      expect(readFileSync(path, 'utf8')).toBe('a: 1\n');
    } finally {
      sleeper.kill();
      await sleeper.exited;
    }
    // The sleeper is gone now: its lock no longer holds anyone off.
    writeFileSync(lock, `${sleeper.pid}\n`);
    await editKubeconfig(path, () => 'b: 2\n');
    expect(readFileSync(path, 'utf8')).toBe('b: 2\n');
    expect(existsSync(lock)).toBe(false);
  });
});
