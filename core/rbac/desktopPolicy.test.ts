import { describe, expect, test } from 'bun:test';
import * as v from 'valibot';
import { AccessDenied } from '../errors.ts';
import { allowedDesktopLogins, desktopPolicy, desktopSessionRights, desktopVisible } from './desktopPolicy.ts';
import { type Role, RoleSchema } from './schema.ts';

const role = (doc: unknown): Role => v.parse(RoleSchema, doc);

const dev = role({
  metadata: { name: 'dev' },
  spec: { allow: { desktop_labels: { env: 'dev' }, desktop_logins: ['{{internal.desktop_logins}}', 'guest'] } },
});
const noClip = role({ metadata: { name: 'no-clip' }, spec: { options: { desktop_clipboard: false } } });
const watcher = role({ metadata: { name: 'watcher' }, spec: { options: { desktop_view_only: true } } });
const noProd = role({
  metadata: { name: 'no-prod' },
  spec: { deny: { desktop_labels: { env: 'prod' }, desktop_logins: ['guest'] } },
});
const traits = { desktop_logins: ['alice'] };
const lab = { name: 'lab1', labels: { env: 'dev' } };

describe('desktop policy', () => {
  test('labels decide who reaches a desktop; a deny selector wins', () => {
    expect(desktopVisible([dev], { env: 'dev' })).toBe(true);
    expect(desktopVisible([dev], { env: 'prod' })).toBe(false);
    expect(desktopVisible([dev, noProd], { env: 'prod' })).toBe(false);
    expect(() => desktopPolicy.check([dev], traits, { name: 'p', labels: { env: 'prod' } }, undefined)).toThrow(
      AccessDenied,
    );
    expect(() => desktopPolicy.check([dev], traits, lab, undefined)).not.toThrow();
  });

  test('logins expand traits, denied logins drop out, and a login the roles lack is refused', () => {
    expect(allowedDesktopLogins([dev], traits, lab.labels)).toEqual(['alice', 'guest']);
    expect(allowedDesktopLogins([dev, noProd], traits, lab.labels)).toEqual(['alice']);
    expect(() => desktopPolicy.check([dev], traits, lab, 'alice')).not.toThrow();
    expect(() => desktopPolicy.check([dev], traits, lab, 'root')).toThrow('login "root" on desktop "lab1"');
  });

  test('clipboard is on unless a role turns it off; view-only if any role asks for it', () => {
    expect(desktopSessionRights([dev])).toEqual({ clipboard: true, viewOnly: false });
    expect(desktopSessionRights([dev, noClip, watcher])).toEqual({ clipboard: false, viewOnly: true });
  });
});
