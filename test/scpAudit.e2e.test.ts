import { afterAll, beforeAll, expect, test } from 'bun:test';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeEvent } from '../web/auditText.ts';
import { eventually } from './helpers/audit.ts';
import { me, type SshFixture, startSshFixture } from './helpers/sshFixture.ts';

// `tp scp` (and any SFTP client) is audited file by file at the node: each file read, written, renamed or removed
// is an `sftp` event with its path and the server's answer, under the session's ID.
let f: SshFixture;

beforeAll(async () => {
  f = await startSshFixture([{ name: 'scp-node' }]);
});
afterAll(async () => f?.close());

test('tp scp up and down: each file is an sftp event with its path, action and result', async () => {
  const alice = await f.user('alice', ['ops']);
  const dir = join(f.dir, 'scp');
  mkdirSync(dir);
  const local = join(dir, 'local.txt');
  writeFileSync(local, 'audited copy\n');
  const remote = join(dir, 'remote.txt');
  expect((await alice.tp(['scp', local, `scp-node:${remote}`])).code).toBe(0);
  const back = join(dir, 'back.txt');
  expect((await alice.tp(['scp', `scp-node:${remote}`, back])).code).toBe(0);
  expect(readFileSync(back, 'utf8')).toBe('audited copy\n');
  const wrote = await eventually(f.cluster.auth.admin, 'sftp', (e) => e.action === 'write' && e.path === remote);
  expect({ user: wrote.user, success: wrote.success, kind: wrote.kind }).toEqual({
    user: 'alice',
    success: true,
    kind: 'sftp',
  });
  await eventually(f.cluster.auth.admin, 'session.start', (e) => e.session_id === wrote.session_id);
  const read = await eventually(f.cluster.auth.admin, 'sftp', (e) => e.action === 'read' && e.path === remote);
  expect(read.success).toBe(true);
  // A refusal is audited with the server's reason.
  const nowhere = join(dir, 'no-such-dir', 'x.txt');
  expect((await alice.tp(['scp', local, `scp-node:${nowhere}`])).code).not.toBe(0);
  const missing = await eventually(f.cluster.auth.admin, 'sftp', (e) => e.path === nowhere);
  expect({ action: missing.action, success: missing.success, error: missing.error }).toEqual({
    action: 'write',
    success: false,
    error: 'no such file',
  });
  // The audit log says it in words.
  expect(describeEvent(wrote as never)).toBe(`alice wrote ${remote} on scp-node as ${me}`);
  expect(describeEvent(missing as never)).toBe(`alice could not write ${nowhere} on scp-node: no such file`);
});
