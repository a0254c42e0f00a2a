import { describe, expect, test } from 'bun:test';
import { webScript, webScripts } from '../core/proxy/webAssets.ts';

// The web bundle: the app's entry stays small, and IronRDP's client (6 MB, its WASM inlined) is a chunk of its own
// that only the RDP desktop view imports, so the login page and the rest of the UI never download it.
describe('web UI scripts', () => {
  test('app.js loads the RDP client on demand from one chunk; nothing else is served by name', async () => {
    const scripts = await webScripts();
    const app = scripts['app.js']!;
    expect(app.length).toBeLessThan(2_000_000);
    expect(app).not.toContain('data:application/wasm');
    const chunks = Object.keys(scripts).filter((n) => n !== 'app.js');
    const rdp = chunks.filter((n) => scripts[n]!.includes('data:application/wasm'));
    expect(rdp).toHaveLength(1);
    expect(rdp[0]).toMatch(/^chunk-[a-z0-9]+\.js$/);
    // The entry imports it dynamically, by a path next to its own.
    expect(app).toContain(`import("./${rdp[0]}")`);
    expect(await webScript(rdp[0]!)).toBe(scripts[rdp[0]!]);
    for (const name of ['nope.js', '__proto__', 'constructor', 'toString'])
      expect(await webScript(name)).toBeUndefined();
  });
});
