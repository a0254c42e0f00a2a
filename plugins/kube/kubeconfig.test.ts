import { describe, expect, test } from 'bun:test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadKubeconfig } from './kubeconfig.ts';

const dir = mkdtempSync(join(tmpdir(), 'tp-kubeconfig-'));
const write = (name: string, doc: unknown) => {
  const p = join(dir, name);
  writeFileSync(p, typeof doc === 'string' ? doc : JSON.stringify(doc));
  return p;
};
const config = (cluster: Record<string, unknown>, user: Record<string, unknown>) => ({
  clusters: [{ name: 'c', cluster: { server: 'https://10.0.0.1:6443', ...cluster } }],
  users: [{ name: 'u', user }],
  contexts: [
    { name: 'admin', context: { cluster: 'c', user: 'u' } },
    { name: 'other', context: { cluster: 'missing', user: 'u' } },
  ],
  'current-context': 'admin',
});

describe('kubeconfig loading', () => {
  test('inline CA and certificate data, the current context, tls-server-name', () => {
    const p = write(
      'a.yaml',
      config(
        { 'certificate-authority-data': Buffer.from('CA').toString('base64'), 'tls-server-name': 'kube.internal' },
        {
          'client-certificate-data': Buffer.from('CERT').toString('base64'),
          'client-key-data': Buffer.from('KEY').toString('base64'),
        },
      ),
    );
    expect(loadKubeconfig(p)).toEqual({
      host: '10.0.0.1',
      port: 6443,
      servername: 'kube.internal',
      ca: 'CA',
      cert: 'CERT',
      key: 'KEY',
      token: undefined,
    });
  });

  test('files relative to the kubeconfig and a tokenFile', () => {
    write('ca.crt', 'CAFILE');
    write('token', 'tok-123\n');
    const p = write('b.yaml', config({ 'certificate-authority': 'ca.crt' }, { tokenFile: 'token' }));
    expect(loadKubeconfig(p, 'admin')).toMatchObject({ ca: 'CAFILE', token: 'tok-123', servername: '10.0.0.1' });
  });

  test('refuses what would not verify the server or cannot authenticate, naming the file', () => {
    const insecure = write('c.yaml', config({ 'insecure-skip-tls-verify': true }, { token: 't' }));
    expect(() => loadKubeconfig(insecure)).toThrow('insecure-skip-tls-verify is refused');
    const exec = write('d.yaml', config({}, { exec: { command: 'aws' } }));
    expect(() => loadKubeconfig(exec)).toThrow('exec and auth-provider credentials are not supported');
    const none = write('e.yaml', config({}, {}));
    expect(() => loadKubeconfig(none)).toThrow(`kubeconfig ${none}: user "u" has no certificate or token`);
    expect(() => loadKubeconfig(none, 'nope')).toThrow('no context "nope"');
    expect(() => loadKubeconfig(none, 'other')).toThrow('names no known cluster');
    const http = write('f.yaml', {
      ...config({}, { token: 't' }),
      clusters: [{ name: 'c', cluster: { server: 'http://x' } }],
    });
    expect(() => loadKubeconfig(http)).toThrow('is not https');
    expect(() => loadKubeconfig(join(dir, 'absent.yaml'))).toThrow('cannot read it');
  });
});
