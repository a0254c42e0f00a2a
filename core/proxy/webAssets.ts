import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Unavailable } from '../errors.ts';
import { log } from '../log.ts';

// The web UI's files, read from web/ in a checkout. A packaged tp (scripts/dist.ts: the npm bundle and the
// binaries, which carry no web/ sources) gets this module replaced by one holding what these functions return.

const webDir = join(import.meta.dir, '..', '..', 'web');

/** The static files the pages serve, by their path under web/. */
export const WEB_FILES = [
  'index.html',
  'app.css',
  'favicon.svg',
  '../node_modules/@xterm/xterm/css/xterm.css',
] as const;
export type WebFile = (typeof WEB_FILES)[number];

let bundle: Promise<Record<string, string>> | undefined;

/**
 * The web UI's JavaScript, bundled and minified by Bun once per process on first use: the entry `app.js` and the
 * chunks it loads on demand (the RDP client, 6 MB with its WASM inlined, is fetched only by the RDP desktop view).
 */
export function webScripts(): Promise<Record<string, string>> {
  bundle ??= (async () => {
    const started = performance.now();
    const out = await Bun.build({
      entrypoints: [join(webDir, 'main.tsx')],
      target: 'browser',
      minify: true,
      splitting: true,
      naming: { entry: 'app.[ext]', chunk: 'chunk-[hash].[ext]' },
    });
    if (!out.success) {
      bundle = undefined;
      throw new Unavailable(`the web UI failed to build: ${out.logs.map((l) => l.message).join('; ')}`);
    }
    const scripts: Record<string, string> = {};
    for (const o of out.outputs) scripts[o.path.replace(/^.*\//, '')] = await o.text();
    log.info('web UI bundled', { ms: Math.round(performance.now() - started) });
    return scripts;
  })();
  return bundle;
}

/** One script of the web UI by file name (`app.js`, `chunk-<hash>.js`), or undefined when the bundle has none. */
export async function webScript(name: string): Promise<string | undefined> {
  const scripts = await webScripts();
  return Object.hasOwn(scripts, name) ? scripts[name] : undefined;
}

const files = new Map<string, string>();
/** A file of the web UI (a path under web/), read once per process. */
export function webFile(path: WebFile): string {
  let text = files.get(path);
  if (text === undefined) {
    text = readFileSync(join(webDir, path), 'utf8');
    files.set(path, text);
  }
  return text;
}
