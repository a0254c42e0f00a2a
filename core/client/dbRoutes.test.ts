import { afterAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordTunnel, runningTunnel, savedRoute, saveRoute } from './dbRoutes.ts';
import { type Profile, profileKeysDir } from './profile.ts';

const home = mkdtempSync(join(tmpdir(), 'tp-dbroutes-'));
process.env.TP_HOME = home;
afterAll(() => rmSync(home, { recursive: true, force: true }));
const p = { proxy: '127.0.0.1:3080' } as Profile;

describe('db routes and tunnel records beside the profile', () => {
  test('a remembered route is kept per database, in a private file under the profile keys (tp logout removes it)', () => {
    expect(savedRoute(p, 'pg1')).toBeUndefined();
    saveRoute(p, 'pg1', { user: 'alice', database: 'shop' });
    saveRoute(p, 'maria1', { user: 'bob' });
    expect(savedRoute(p, 'pg1')).toEqual({ user: 'alice', database: 'shop' });
    expect(savedRoute(p, 'maria1')).toEqual({ user: 'bob' });
    const file = join(profileKeysDir(p.proxy, home), 'db', 'routes.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  test('a tunnel record whose process is gone is dropped; forgetting removes only our own record', () => {
    const forget = recordTunnel(p, 'pg1', { pid: 4242, host: '127.0.0.1', port: 5544, user: 'alice' });
    expect(runningTunnel(p, 'pg1', () => true)).toEqual({ pid: 4242, host: '127.0.0.1', port: 5544, user: 'alice' });
    recordTunnel(p, 'pg1', { pid: 4343, host: '127.0.0.1', port: 5545, user: 'alice' });
    forget(); // a later tunnel for the same name took over: its record stays
    expect(runningTunnel(p, 'pg1', (pid) => pid === 4343)?.port).toBe(5545);
    expect(runningTunnel(p, 'pg1', () => false)).toBeUndefined();
    expect(existsSync(join(profileKeysDir(p.proxy, home), 'db', 'tunnels', 'pg1.json'))).toBe(false);
  });
});
