import { defineCommand } from 'citty';
import { dynamicForward, localForward, parseForward, remoteForward } from '../core/client/forwards.ts';
import { localUsername } from '../core/client/localUser.ts';
import { sshToNode } from '../core/client/nodeConnection.ts';
import { loadProfile, type Profile, requireProfile } from '../core/client/profile.ts';
import { runRemote } from '../core/client/remoteCommand.ts';
import { BadParameter, Cancelled, describe, exitCodeOf, Unauthenticated } from '../core/errors.ts';
import { HelpWanted, RAW_ARGS, type RawArgsHelp } from './lib/help.ts';
import { interactive } from './lib/prompt.ts';
import { doLogin } from './login.ts';

/** The options `tp ssh --help` lists; the parser below reads exactly these. */
const OPTIONS: [string, string][] = [
  ['-l LOGIN', 'Log in as LOGIN on the node (default: user@ in the destination, else your first login)'],
  ['-p PORT', 'Accepted as OpenSSH does; the proxy reaches nodes by name, so the port is not used'],
  ['-t', 'Force a PTY (for interactive commands)'],
  ['-T', 'Never allocate a PTY'],
  ['-A', 'Forward your ssh-agent (if your roles allow)'],
  ['-N', 'Run no command (for port forwarding)'],
  ['-L [bind:]port:host:hostport', 'Forward a local port to host:hostport from the node (repeatable)'],
  ['-R [bind:]port:host:hostport', 'Forward a port on the node to host:hostport from here (repeatable)'],
  ['-D [bind:]port', 'SOCKS5 proxy on a local port, connecting from the node'],
];

/** `tp ssh` options, parsed the way OpenSSH's are: options first, then the destination, then the command. */
export interface SshArgs {
  login?: string;
  node: string;
  /** Given with -p for OpenSSH compatibility; routing is by node name. */
  port?: number;
  command?: string;
  forcePty?: boolean;
  agent: boolean;
  noCommand: boolean;
  local: string[];
  remote: string[];
  dynamic: string[];
}

/**
 * Parses argv after `tp ssh`. Options come before the destination (`--` may end them); everything after the
 * destination is the remote command, its own flags included (one leading `--` there is dropped).
 */
export function parseSshArgs(argv: string[]): SshArgs {
  const a: SshArgs = { node: '', agent: false, noCommand: false, local: [], remote: [], dynamic: [] };
  let i = 0;
  const value = (flag: string) => {
    const v = argv[++i];
    if (v === undefined) throw new BadParameter(`${flag} needs a value`);
    return v;
  };
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      i++;
      break;
    }
    if (!arg.startsWith('-')) break;
    if (arg === '-l') a.login = value('-l');
    else if (arg === '-p') {
      const v = value('-p');
      a.port = Number(v);
      if (!Number.isInteger(a.port) || a.port < 1 || a.port > 65535)
        throw new BadParameter(`-p needs a port number (got "${v}")`);
    } else if (arg === '-t') a.forcePty = true;
    else if (arg === '-T') a.forcePty = false;
    else if (arg === '-A') a.agent = true;
    else if (arg === '-N') a.noCommand = true;
    else if (arg === '-L') a.local.push(value('-L'));
    else if (arg === '-R') a.remote.push(value('-R'));
    else if (arg === '-D') a.dynamic.push(value('-D'));
    else if (arg === '--help' || arg === '-h') throw new HelpWanted();
    else throw new BadParameter(`unknown flag ${arg}`);
  }
  const dest = argv[i];
  if (!dest) throw new BadParameter('missing destination [user@]node');
  const at = dest.lastIndexOf('@');
  a.node = at >= 0 ? dest.slice(at + 1) : dest;
  if (at >= 0) a.login ??= dest.slice(0, at);
  const rest = argv.slice(argv[i + 1] === '--' ? i + 2 : i + 1);
  if (rest.length) a.command = rest.join(' ');
  return a;
}

/** The profile, asking the person to log in again when the certificate is missing or expired (TTY only). */
async function profileOrRelogin(): Promise<Profile> {
  try {
    return requireProfile();
  } catch (err) {
    const last = loadProfile();
    // An identity file (`tp -i`, TP_IDENTITY) is renewed by its bot, never by a password prompt.
    if (!(err instanceof Unauthenticated) || !interactive() || !last || last.identityFile) throw err;
    process.stderr.write(`${describe(err)}\nlogging in again to ${last.proxy} as ${last.user}\n`);
    return (await doLogin({ proxy: last.proxy, user: last.user })).profile;
  }
}

const ssh = defineCommand({
  meta: {
    name: 'ssh',
    description:
      'Open a shell or run a command on a node, through the proxy, with your certificate.\n' +
      "Exits with the remote command's status, or 255 when tp itself fails. Examples:\n" +
      '  tp ssh node1\n  tp ssh root@node1 df -h /\n  tp ssh -L 8080:localhost:80 -N node1',
  },
  run: async ({ rawArgs }) => {
    // Usage errors go to the runner (exit 2); from here on, like OpenSSH, tp's own failures are 255.
    const a = parseSshArgs(rawArgs);
    try {
      const profile = await profileOrRelogin();
      const login = a.login ?? profile.logins[0] ?? localUsername();
      const { client } = await sshToNode(profile, a.node, login, { agentForward: a.agent });
      for (const spec of a.local) await localForward(client, parseForward(spec, '-L'));
      for (const spec of a.remote) await remoteForward(client, parseForward(spec, '-R'));
      for (const spec of a.dynamic) {
        const [bind, port] = spec.includes(':')
          ? [spec.slice(0, spec.lastIndexOf(':')), spec.slice(spec.lastIndexOf(':') + 1)]
          : ['127.0.0.1', spec];
        await dynamicForward(client, bind, Number(port));
      }
      if (a.noCommand) {
        await new Promise<void>((resolve) => client.on('close', () => resolve()));
        process.exit(0);
      }
      const pty = a.forcePty ?? (a.command === undefined && !!process.stdin.isTTY);
      const code = await runRemote(client, { command: a.command, pty });
      client.end();
      process.exit(code);
    } catch (err) {
      process.stderr.write(`error: ${describe(err)}\n`);
      // Like OpenSSH: 255 is tp's own failure; every other status is the remote command's.
      process.exit(err instanceof Cancelled ? exitCodeOf(err) : 255);
    }
  },
});

export default Object.assign(ssh, {
  [RAW_ARGS]: { usage: '[options] [user@]node [command ...]', options: OPTIONS } satisfies RawArgsHelp,
});
