import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatIdentityFile } from '../client/identityFile.ts';
import { privateDir } from '../config/privateDir.ts';
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
 * Writes the bot's outputs into `dir` (made 0700), each file atomically with mode 0600: the identity file, the SSH
 * key and certificate, known_hosts trusting the host CA, and the ssh_config. The identity is written last, so a
 * reader of it never sees keys older than the ssh files.
 */
export function writeBotOutputs(dir: string, id: BotIdentity, nodes: string[], tp: string[]): void {
  privateDir(dir, 'bot output directory');
  writeAtomic(join(dir, 'key'), id.sshKey);
  writeAtomic(join(dir, 'key-cert.pub'), `${id.sshCert.trim()}\n`);
  writeAtomic(join(dir, 'known_hosts'), id.hostCa.map((k) => `@cert-authority * ${k}\n`).join(''));
  writeAtomic(join(dir, 'ssh_config'), botSshConfig(dir, id, nodes, tp));
  writeAtomic(join(dir, 'identity'), formatIdentityFile(id));
}
