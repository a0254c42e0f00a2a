import type { BunPlugin } from 'bun';
import { WEB_FILES, webFile, webScripts } from '../../core/proxy/webAssets.ts';

/**
 * A bundler plugin that swaps core/proxy/webAssets.ts for a module holding its results (the built scripts and the
 * static files), so a package or binary without web/ sources serves the same web UI a checkout does.
 */
export async function prebuiltWebAssets(): Promise<BunPlugin> {
  const files = Object.fromEntries(WEB_FILES.map((f) => [f, webFile(f)]));
  const scripts = await webScripts();
  const contents = [
    `const FILES = ${JSON.stringify(files)};`,
    `const SCRIPTS = ${JSON.stringify(scripts)};`,
    'export const WEB_FILES = Object.keys(FILES);',
    'export function webFile(path) { return FILES[path]; }',
    'export async function webScripts() { return SCRIPTS; }',
    'export async function webScript(name) { return Object.hasOwn(SCRIPTS, name) ? SCRIPTS[name] : undefined; }',
  ].join('\n');
  return {
    name: 'tp-prebuilt-web-assets',
    setup(build) {
      build.onLoad({ filter: /[\\/]core[\\/]proxy[\\/]webAssets\.ts$/ }, () => ({ contents, loader: 'js' }));
    },
  };
}
