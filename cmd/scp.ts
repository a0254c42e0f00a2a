import { defineCommand } from 'citty';
import { download, upload } from '../core/client/copy.ts';
import { localUsername } from '../core/client/localUser.ts';
import { sshToNode } from '../core/client/nodeConnection.ts';
import { requireProfile } from '../core/client/profile.ts';
import { BadParameter } from '../core/errors.ts';
import { HelpWanted, RAW_ARGS, type RawArgsHelp } from './lib/help.ts';

/** The options `tp scp --help` lists; parseScpArgs reads exactly these. */
const OPTIONS: [string, string][] = [
  ['-r', 'Copy directories recursively'],
  ['-P PORT', 'Accepted as OpenSSH does; the proxy reaches nodes by name, so the port is not used'],
  ['-l LOGIN', 'Log in as LOGIN (default: user@ in the operand, else your first login)'],
];

/** A `[user@]node:path` operand, or undefined for a local path. */
function remote(arg: string): { login?: string; node: string; path: string } | undefined {
  const m = /^(?:([^@/:]+)@)?([^/:]+):(.*)$/.exec(arg);
  return m ? { login: m[1], node: m[2]!, path: m[3] || '.' } : undefined;
}

/** `tp scp` argv: options (`-r`, `-P PORT`, `-l LOGIN`, `--` to end them) and at least two operands. */
export interface ScpArgs {
  recursive: boolean;
  /** Given with -P for OpenSSH compatibility; routing is by node name. */
  port?: number;
  login?: string;
  sources: string[];
  dest: string;
}

/** Parses argv after `tp scp` the way OpenSSH's scp does (options may come before or between operands). */
export function parseScpArgs(argv: string[]): ScpArgs {
  const a: Omit<ScpArgs, 'sources' | 'dest'> = { recursive: false };
  const operands: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new BadParameter(`${arg} needs a value`);
      return v;
    };
    if (arg === '--') {
      operands.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') operands.push(arg);
    else if (arg === '-r') a.recursive = true;
    else if (arg === '-P') {
      const v = value();
      a.port = Number(v);
      if (!Number.isInteger(a.port) || a.port < 1 || a.port > 65535)
        throw new BadParameter(`-P needs a port number (got "${v}")`);
    } else if (arg === '-l') a.login = value();
    else if (arg === '--help' || arg === '-h') throw new HelpWanted();
    else throw new BadParameter(`unknown flag ${arg}`);
  }
  if (operands.length < 2) throw new BadParameter('needs a source and a destination');
  return { ...a, sources: operands.slice(0, -1), dest: operands.at(-1)! };
}

const scp = defineCommand({
  meta: {
    name: 'scp',
    description:
      'Copy files to or from a node over SFTP through the proxy. Examples:\n' +
      '  tp scp -r ./dir node1:/tmp/\n  tp scp root@node1:/etc/hosts .',
  },
  run: async ({ rawArgs }) => {
    const a = parseScpArgs(rawArgs);
    const rdest = remote(a.dest);
    const rsrc = a.sources.map(remote);
    if (rdest && rsrc.some(Boolean))
      throw new BadParameter('copying between two nodes is not supported; copy through here');
    if (!rdest && (rsrc.length !== 1 || !rsrc[0]))
      throw new BadParameter('one side must be a node: [user@]node:path (and a download takes one source)');
    const target = rdest ?? rsrc[0]!;
    const profile = requireProfile();
    const login = a.login ?? target.login ?? profile.logins[0] ?? localUsername();
    const { client } = await sshToNode(profile, target.node, login);
    const sftp = await new Promise<import('ssh2').SFTPWrapper>((resolve, reject) =>
      client.sftp((err, s) => (err ? reject(err) : resolve(s))),
    );
    const n = rdest
      ? await upload(sftp, a.sources, rdest.path, a.recursive)
      : await download(sftp, rsrc[0]!.path, a.dest, a.recursive);
    client.end();
    process.stderr.write(`copied ${n} file${n === 1 ? '' : 's'}\n`);
    process.exit(0);
  },
});

export default Object.assign(scp, {
  [RAW_ARGS]: {
    usage: '[options] SOURCE... [user@]node:DEST  |  tp scp [options] [user@]node:SOURCE DEST',
    options: OPTIONS,
  } satisfies RawArgsHelp,
});
