import { renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { formatIdentityFile } from '../client/identityFile.ts';
import { privateDir } from '../config/privateDir.ts';
import { BadParameter } from '../errors.ts';
import { OPENSSH_CIPHERS } from '../ssh/algorithms.ts';
import type { BotIdentity } from './join.ts';

/** Names of the files `tp bot start` keeps in its output directory. */
export const BOT_FILES = ['identity', 'ssh_config', 'known_hosts', 'key', 'key-cert.pub'] as const;

/** Writes `text` to `path` as a whole or not at all (a reader never sees half a file), mode 0600. */
export function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, path);
}

const q = (s: string) => `"${s.replace(/(["\\])/g, '\\$1')}"`;

/**
 * The ssh_config for stock OpenSSH: every node name given (and `*.<cluster>`) through `tp proxy ssh` with this
 * identity file, host certificates checked against the cluster's host CA only.
 */
export function botSshConfig(dir: string, id: BotIdentity, nodes: string[], tp: string[]): string {
  const hosts = [...new Set(nodes)].filter((n) => /^[A-Za-z0-9_.-]+$/.test(n));
  return [
    `# tp bot: OpenSSH config for cluster ${id.cluster} via proxy ${id.proxy} (rewritten at every renewal)`,
    `Host ${[...hosts, `*.${id.cluster}`].join(' ')}`,
    `    UserKnownHostsFile ${q(join(dir, 'known_hosts'))}`,
    `    IdentityFile ${q(join(dir, 'key'))}`,
    `    CertificateFile ${q(join(dir, 'key-cert.pub'))}`,
    '    IdentitiesOnly yes',
    '    StrictHostKeyChecking yes',
    '    GlobalKnownHostsFile /dev/null',
    `    Ciphers ${OPENSSH_CIPHERS}`,
    ...(id.logins[0] ? [`    User ${id.logins[0]}`] : []),
    `    ProxyCommand ${tp.map(q).join(' ')} -i ${q(join(dir, 'identity'))} proxy ssh %r@%h:%p`,
    '',
  ].join('\n');
}

/**
 * More files a bot keeps fresh beside its identity, by path relative to the output directory (`kubeconfig`,
 * `db/pg1/...`): made from the identity at every write by whoever asked for them (`tp bot start --kube`).
 */
export type BotExtraOutputs = (id: BotIdentity, dir: string) => Promise<Record<string, string>>;

/**
 * Writes the bot's outputs into `dir` (made 0700), each file atomically with mode 0600: the identity file, the SSH
 * key and certificate, known_hosts trusting the host CA, the ssh_config, and the `extra` files (their directories
 * made 0700; a path leaving `dir` is refused). The identity is written last, so a reader of it never sees keys older
 * than the other files.
 */
export function writeBotOutputs(
  dir: string,
  id: BotIdentity,
  nodes: string[],
  tp: string[],
  extra: Record<string, string> = {},
): void {
  privateDir(dir, 'bot output directory');
  const root = resolve(dir);
  for (const [rel, text] of Object.entries(extra)) {
    const path = resolve(root, rel);
    if (!path.startsWith(`${root}${sep}`) || (BOT_FILES as readonly string[]).includes(rel))
      throw new BadParameter(`bot output "${rel}" is not a file of its own inside ${dir}`);
    privateDir(dirname(path), 'bot output directory');
    writeAtomic(path, text);
  }
  writeAtomic(join(dir, 'key'), id.sshKey);
  writeAtomic(join(dir, 'key-cert.pub'), `${id.sshCert.trim()}\n`);
  writeAtomic(join(dir, 'known_hosts'), id.hostCa.map((k) => `@cert-authority * ${k}\n`).join(''));
  writeAtomic(join(dir, 'ssh_config'), botSshConfig(dir, id, nodes, tp));
  writeAtomic(join(dir, 'identity'), formatIdentityFile(id));
}
