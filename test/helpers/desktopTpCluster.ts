import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tpOk } from './cli.ts';
import { freePort } from './sshd.ts';
import { startTpDaemon, type TpDaemon } from './tpDaemon.ts';

const TP_ENTRY = join(import.meta.dir, '..', '..', 'cmd', 'tp.ts');

/** One desktop entry of the cluster's tp.yaml `desktops` section. */
export interface DesktopEntry {
  name: string;
  addr: string;
  labels: Record<string, string>;
  passwordFile?: string;
}

/** `tp start` (auth, proxy and an agent in one process) from a real tp.yaml whose agent serves VNC desktops. */
export interface DesktopTpCluster extends AsyncDisposable {
  dir: string;
  /** `--data-dir DIR`, for admin commands. */
  admin: string[];
  proxyAddr: string;
  daemon: TpDaemon;
  /** Creates a role from YAML. */
  role(yaml: string): Promise<void>;
  /** Adds a user with roles and the password `password`. */
  user(name: string, roles: string[], password: string): Promise<void>;
  close(): Promise<void>;
}

/** Starts the cluster with `desktops` in the agent's section of tp.yaml (plugin desktop-vnc). */
export async function startDesktopTpCluster(
  desktops: DesktopEntry[],
  o: { /** `off`: sessions are not recorded (default: at the node). */ recording?: 'node' | 'off' } = {},
): Promise<DesktopTpCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'tp-desk-cluster-'));
  const dataDir = join(dir, 'data');
  const admin = ['--data-dir', dataDir];
  const [authPort, proxyPort] = [await freePort(), await freePort()];
  const entries = desktops.map(
    (d) =>
      `    - {name: ${d.name}, protocol: vnc, addr: "${d.addr}", labels: ${JSON.stringify(d.labels)}` +
      `${d.passwordFile ? `, password_file: "${d.passwordFile}"` : ''}}\n`,
  );
  const config = join(dir, 'tp.yaml');
  writeFileSync(
    config,
    `cluster_name: desk.e2e\nauth: {listen: 127.0.0.1:${authPort}, second_factor: "off", session_recording: ${o.recording ?? 'node'}}\n` +
      `proxy: {listen: 127.0.0.1:${proxyPort}}\nssh: {name: desk-host}\n` +
      `desktops:\n  enabled: true\n  desktops:\n${entries.join('')}`,
  );
  // BENCH_PROFILE_DIR: the cluster process writes a CPU profile there (as the bench cluster does).
  const prof = process.env.BENCH_PROFILE_DIR;
  const cmd = prof ? [process.execPath, '--cpu-prof', `--cpu-prof-dir=${prof}`, TP_ENTRY] : undefined;
  const daemon = await startTpDaemon(['start', '--config', config, ...admin], /og in and connect/, { cmd });
  const close = async () => {
    await daemon.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  return {
    dir,
    admin,
    proxyAddr: `127.0.0.1:${proxyPort}`,
    daemon,
    role: async (yaml) => {
      const f = join(dir, `role-${Math.random().toString(36).slice(2)}.yaml`);
      writeFileSync(f, yaml);
      await tpOk(['roles', 'create', '-f', f, ...admin]);
    },
    user: async (name, roles, password) => {
      mkdirSync(join(dir, `home-${name}`), { recursive: true });
      await tpOk(['users', 'add', name, '--roles', roles.join(','), '--password-stdin', ...admin], { stdin: password });
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
