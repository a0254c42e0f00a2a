import { defineCommand } from 'citty';
import { download, upload } from '../core/client/copy.ts';
import { localUsername } from '../core/client/localUser.ts';
import { sshToNode } from '../core/client/nodeConnection.ts';
import { requireProfile } from '../core/client/profile.ts';
import { BadParameter, describe } from '../core/errors.ts';

const USAGE = 'usage: tp scp [-r] SOURCE... [user@]node:DEST  |  tp scp [-r] [user@]node:SOURCE DEST';

/** A `[user@]node:path` operand, or undefined for a local path. */
function remote(arg: string): { login?: string; node: string; path: string } | undefined {
  const m = /^(?:([^@/:]+)@)?([^/:]+):(.*)$/.exec(arg);
  return m ? { login: m[1], node: m[2]!, path: m[3] || '.' } : undefined;
}

export default defineCommand({
  meta: { name: 'scp', description: `Copy files to or from a node over SFTP through the proxy.\n${USAGE}` },
  run: async ({ rawArgs }) => {
    try {
      const recursive = rawArgs.includes('-r');
      const operands = rawArgs.filter((a) => a !== '-r');
      if (operands.length < 2) throw new BadParameter(USAGE);
      const dest = operands.at(-1)!;
      const sources = operands.slice(0, -1);
      const rdest = remote(dest);
      const rsrc = sources.map(remote);
      if (rdest && rsrc.some(Boolean))
        throw new BadParameter('copying between two nodes is not supported; copy through here');
      if (!rdest && (rsrc.length !== 1 || !rsrc[0])) throw new BadParameter(USAGE);
      const target = rdest ?? rsrc[0]!;
      const profile = requireProfile();
      const { client } = await sshToNode(profile, target.node, target.login ?? profile.logins[0] ?? localUsername());
      const sftp = await new Promise<import('ssh2').SFTPWrapper>((resolve, reject) =>
        client.sftp((err, s) => (err ? reject(err) : resolve(s))),
      );
      const n = rdest
        ? await upload(sftp, sources, rdest.path, recursive)
        : await download(sftp, rsrc[0]!.path, dest, recursive);
      client.end();
      process.stderr.write(`copied ${n} file${n === 1 ? '' : 's'}\n`);
      process.exit(0);
    } catch (err) {
      process.stderr.write(`error: ${describe(err)}\n`);
      process.exit(1);
    }
  },
});
