// Every protocol plugin tp runs, one lazy import per line (core/plugin/registry.ts checks names and ALPN ids).
import type { PluginLoader } from '../core/plugin/registry.ts';

/** The plugins of this build: SSH first, then databases, then Kubernetes, then web apps, then desktops. */
export const PLUGINS: PluginLoader[] = [
  () => import('./ssh/index.ts'),
  () => import('./db-postgres/index.ts'),
  () => import('./db-mysql/index.ts'),
  () => import('./kube/index.ts'),
  () => import('./app-http/index.ts'),
  () => import('./desktop-vnc/index.ts'),
  () => import('./desktop-rdp/index.ts'),
];
