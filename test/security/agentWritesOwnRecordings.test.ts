import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type { Output } from '../../cmd/lib/outputSchemas.ts';
import { recordedEcho } from '../helpers/agentWrites.ts';
import { tp } from '../helpers/cli.ts';
import { auditEvents, type FixtureUser, type SshFixture, startSshFixture } from '../helpers/sshFixture.ts';

// Issue 16, item 5: a user could not list or replay their own sessions (`tp recordings ls` / `tp play` as role
// `access` was refused). Every user sees the sessions they took part in; roles with `recording` rules see all.

let f: SshFixture;
let alice: FixtureUser;
let bob: FixtureUser;
let auditor: FixtureUser;
let blind: FixtureUser;
let erin: FixtureUser;
const admin = (args: string[]) => tp([...args, '--data-dir', f.cluster.auth.dataDir]);
// The commands read the user's own profile when no admin identity is at hand (as on a laptop).
const asUser = (u: FixtureUser, args: string[]) => u.tp(args, { env: { TP_DATA_DIR: '' } });
const marks = { alice: '', bob: '' };
const sessions = { alice: '', bob: '' };

const recorded = async (u: FixtureUser, marker: string) => (await recordedEcho(f, u, 'node1', marker)).sessionId;

beforeAll(async () => {
  f = await startSshFixture([{ name: 'node1' }]);
  await f.role(
    'metadata: {name: session-auditor}\nspec:\n  allow: {rules: [{resources: [recording], verbs: [list, read]}]}\n',
  );
  await f.role('metadata: {name: no-recordings}\nspec:\n  deny: {rules: [{resources: [recording], verbs: ["*"]}]}\n');
  // The fixture's `ops` role grants SSH logins and no rule at all: an ordinary user. (The preset `access` denies
  // root, the login these tests may run as; erin holds `access` alone.)
  alice = await f.user('alice', ['ops']);
  bob = await f.user('bob', ['ops']);
  erin = await f.user('erin', ['access']);
  auditor = await f.user('carol', ['ops', 'session-auditor']);
  blind = await f.user('dave', ['ops', 'no-recordings']);
  marks.alice = `alice-${Math.random().toString(36).slice(2, 10)}`;
  marks.bob = `bob-${Math.random().toString(36).slice(2, 10)}`;
  sessions.alice = await recorded(alice, marks.alice);
  sessions.bob = await recorded(bob, marks.bob);
});
afterAll(async () => f.close());

const listed = async (u: FixtureUser, ...args: string[]) => {
  const r = await asUser(u, ['recordings', ...args, '--format', 'json']);
  expect(r.stderr).toBe('');
  return (JSON.parse(r.stdout) as Output<'recordings ls'>).map((m) => m.session_id).sort();
};

describe('users see their own recordings', () => {
  test('alice (no rule on recordings) lists, searches and plays her own session, through her profile', async () => {
    expect(await listed(alice, 'ls')).toEqual([sessions.alice]);
    const play = await asUser(alice, ['play', sessions.alice, '--format', 'text']);
    expect(play.stdout).toBe(`${marks.alice}\n`);
    expect(play.code).toBe(0);
    expect(await listed(alice, 'search', marks.alice)).toEqual([sessions.alice]);
    // Search looks only among her own sessions.
    expect(await listed(alice, 'search', marks.bob)).toEqual([]);
  });

  test("alice is refused bob's session with a clear message, and the refusal is audited", async () => {
    const play = await asUser(alice, ['play', sessions.bob, '--format', 'text']);
    expect(play.stdout).toBe('');
    expect(play.stderr).toBe(
      `error: session ${sessions.bob} is not one of yours: your roles let you play only your own sessions\n`,
    );
    expect(play.code).toBe(5);
    const refused = (await auditEvents(f, 'auth.attempt')).filter(
      (e) => e.user === 'alice' && e.session_id === sessions.bob && e.action === 'recording.read',
    );
    expect(refused).toHaveLength(1);
  });

  test('a user holding the preset access role lists (none of) her own and is refused the others', async () => {
    expect(await listed(erin, 'ls')).toEqual([]);
    const play = await asUser(erin, ['play', sessions.alice, '--format', 'text']);
    expect(play.stderr).toBe(
      `error: session ${sessions.alice} is not one of yours: your roles let you play only your own sessions\n`,
    );
  });

  test('the admin, and a role with recording rules, see every session', async () => {
    const all = [sessions.alice, sessions.bob].sort();
    const ls = JSON.parse((await admin(['recordings', 'ls', '--format', 'json'])).stdout) as Output<'recordings ls'>;
    expect(ls.map((m) => m.session_id).sort()).toEqual(all);
    expect((await admin(['play', sessions.alice, '--format', 'text'])).stdout).toBe(`${marks.alice}\n`);
    expect((await admin(['play', sessions.bob, '--format', 'text'])).stdout).toBe(`${marks.bob}\n`);
    expect(await listed(auditor, 'ls')).toEqual(all);
    expect((await asUser(auditor, ['play', sessions.bob, '--format', 'text'])).stdout).toBe(`${marks.bob}\n`);
  });

  test("a role that denies recordings hides even the user's own", async () => {
    const r = await asUser(blind, ['recordings', 'ls']);
    expect(r.stderr).toBe('error: "list" on recording is denied by role "no-recordings"\n');
    expect(r.code).toBe(5);
  });
});
