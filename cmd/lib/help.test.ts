import { describe, expect, test } from 'bun:test';
import { mergeFlagHelp } from './help.ts';

describe('mergeFlagHelp: one flag, several plugins', () => {
  test('texts that differ in the middle read as one sentence', () => {
    expect(
      mergeFlagHelp([
        'serve a database, NAME=postgres://HOST:PORT (repeatable)',
        'serve a database, NAME=mysql://HOST:PORT (repeatable)',
      ]),
    ).toBe('serve a database, NAME=postgres://HOST:PORT or NAME=mysql://HOST:PORT (repeatable)');
  });

  test('one text stays as it is; unlike texts are joined with "; or"', () => {
    expect(mergeFlagHelp(['serve a web app, NAME=http://HOST:PORT (repeatable)'])).toBe(
      'serve a web app, NAME=http://HOST:PORT (repeatable)',
    );
    expect(mergeFlagHelp(['serve a desktop, NAME=vnc://HOST:PORT', 'attach a printer (repeatable)'])).toBe(
      'serve a desktop, NAME=vnc://HOST:PORT; or attach a printer (repeatable)',
    );
  });
});
