import type { BunPlugin } from 'bun';
import { appJs, WEB_FILES, webFile } from '../../core/proxy/webAssets.ts';

/**
 * A bundler plugin that swaps core/proxy/webAssets.ts for a module holding its results (the built app.js and the
 * static files), so a package or binary without web/ sources serves the same web UI a checkout does.
 */
export async function prebuiltWebAssets(): Promise<BunPlugin> {
  const files = Object.fromEntries(WEB_FILES.map((f) => [f, webFile(f)]));
  const app = await appJs();
  const contents = [
    `const FILES = ${JSON.stringify(files)};`,
    `const APP_JS = ${JSON.stringify(app)};`,
    'export const WEB_FILES = Object.keys(FILES);',
    'export function webFile(path) { return FILES[path]; }',
    'export async function appJs() { return APP_JS; }',
  ].join('\n');
  return {
    name: 'tp-prebuilt-web-assets',
    setup(build) {
      build.onLoad({ filter: /[\\/]core[\\/]proxy[\\/]webAssets\.ts$/ }, () => ({ contents, loader: 'js' }));
    },
  };
}
