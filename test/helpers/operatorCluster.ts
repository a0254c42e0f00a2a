// A cluster as an operator sets one up, all through the real CLI: `tp start` from a tp.yaml, a role and a user
// (alice, holding it), and `tp agent start` processes joining with node tokens from agent tp.yaml files.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tpOk } from './cli.ts';
import { startTpDaemon, type TpDaemon } from './tpDaemon.ts';

/** Alice's password. */
export const PASSWORD = 'correct horse battery staple';

export interface OperatorCluster {
  proxy: string;
  dataDir: string;
  /** Runs an admin command against the auth data dir; resolves to its stdout. */
  admin(args: string[], stdin?: string): Promise<string>;
  /** Logs alice in (again) into the TP_HOME of `env`, with `--ttl ttl` when given. */
  login(env: Record<string, string>, ttl?: string): Promise<void>;
  /** Starts `tp agent start` named `<prefix><n>` from a tp.yaml holding `section` (its resource lines). */
  startAgent(prefix: string, section: string): Promise<void>;
  /** Runs `fn` on close, after every process has stopped. */
  onClose(fn: () => Promise<void>): void;
  close(): Promise<void>;
}

/** Starts the cluster `name` in `dir`, creates `roleYaml` and alice holding it (alice is not logged in yet). */
export async function startOperatorCluster(dir: string, name: string, roleYaml: string): Promise<OperatorCluster> {
  const dataDir = join(dir, 'data');
  const config = join(dir, 'tp.yaml');
  writeFileSync(
    config,
    `cluster_name: ${name}\ndata_dir: ${dataDir}\nauth: {listen: "127.0.0.1:0", second_factor: "off"}\n` +
      'proxy: {listen: "127.0.0.1:0", ssh_listen: "127.0.0.1:0"}\nssh: {name: aio}\n',
  );
  const daemons: TpDaemon[] = [await startTpDaemon(['start', '--config', config], /log in and connect/i)];
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const d of daemons.reverse()) await d.stop();
    for (const fn of closers) await fn();
  };
  try {
    const proxy = /proxy:\s+https:\/\/(\S+)/.exec(daemons[0]!.banner)?.[1];
    if (!proxy) throw new Error(`no proxy address in the banner: ${daemons[0]!.banner}`);
    const admin = (args: string[], stdin?: string) => tpOk([...args, '--data-dir', dataDir], { stdin });
    await admin(['roles', 'create', '-f', '-'], roleYaml);
    const role = /name:\s*(\S+)\}/.exec(roleYaml)?.[1] ?? 'access';
    await admin(['users', 'add', 'alice', '--roles', role, '--password-stdin'], PASSWORD);
    let agents = 0;
    return {
      proxy,
      dataDir,
      admin,
      login: async (env, ttl) => {
        const args = ['login', '--proxy', proxy, '--user', 'alice', '--password-stdin', '--insecure'];
        await tpOk([...args, ...(ttl ? ['--ttl', ttl] : [])], { env, stdin: PASSWORD });
      },
      async startAgent(prefix, section) {
        const n = ++agents;
        const token = JSON.parse(await admin(['tokens', 'add', '--type', 'node', '--format', 'json'])) as {
          token: string;
          ca_pin: string;
        };
        const file = join(dir, `agent-${n}.yaml`);
        writeFileSync(
          file,
          `data_dir: ${join(dir, `agent-${n}`)}\n` +
            `ssh: {name: ${prefix}${n}, proxy: "${proxy}", token: "${token.token}", ca_pin: "${token.ca_pin}"}\n` +
            section,
        );
        daemons.push(await startTpDaemon(['agent', 'start', '--config', file], /agent \S+ running/));
      },
      onClose: (fn) => void closers.push(fn),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
