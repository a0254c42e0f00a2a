// `tp kube credentials`: kubectl's exec credential plugin. stdout carries the ExecCredential and nothing else (kubectl
// parses it); everything for people goes to stderr. It answers from the profile while its certificate is valid, with
// no network and no lock; only a login that has to be renewed takes the lock, so parallel kubectl runs log in once.
import { join } from 'node:path';
import { loadProfile, type Profile, profileTexts, tpHome } from '../core/client/profile.ts';
import { privateDir } from '../core/config/privateDir.ts';
import { exitCodeOf, Unauthenticated } from '../core/errors.ts';
import { certificateExpiry, execCredential, kubectlInteractive } from '../plugins/kube/credential.ts';
import { lockFile } from '../plugins/kube/fileLock.ts';
import { selfCommand } from './lib/self.ts';

/** Either the certificate and key to hand kubectl, or why there is none (a sentence for the person at kubectl). */
type Answer = { cert: string; key: string; expires: number } | { problem: string };

function answer(p: Profile | undefined, proxy: string | undefined, now: number): Answer {
  const login = `tp login${proxy ? ` --proxy ${proxy}` : ''}`;
  if (!p) return { problem: `you are not logged in to tp: run \`${login}\`` };
  if (proxy && p.proxy !== proxy)
    return {
      problem: `your tp profile is for proxy ${p.proxy}, but this kubeconfig entry is for ${proxy}: run \`${login}\``,
    };
  const t = profileTexts(p);
  const expires = Math.min(certificateExpiry(t.tlsCert), p.expires);
  if (expires > now) return { cert: t.tlsCert, key: t.tlsKey, expires };
  if (p.identityFile)
    return {
      problem: `identity file ${p.identityFile} expired at ${new Date(expires).toISOString()}: is \`tp bot start\` running to renew it?`,
    };
  return { problem: 'your tp login expired: run `tp login`' };
}

/** Runs `tp login` at the user's terminal, its output on stderr (stdout belongs to kubectl). */
async function interactiveLogin(proxy: string | undefined): Promise<void> {
  const child = Bun.spawn([...selfCommand(), 'login', ...(proxy ? ['--proxy', proxy] : [])], {
    stdin: 'inherit',
    stdout: 2,
    stderr: 'inherit',
  });
  await child.exited;
}

/** Prints the ExecCredential for `args.cluster`, or says on stderr what to do and exits as Unauthenticated (6). */
export async function kubeCredentials(args: { cluster: string; proxy?: string }): Promise<void> {
  const p = loadProfile();
  let a = answer(p, args.proxy, Date.now());
  // An identity file is renewed by the bot that writes it: no login here would help.
  if ('problem' in a && !p?.identityFile && kubectlInteractive(process.env.KUBERNETES_EXEC_INFO)) {
    // One login for every kubectl run waiting here: whoever comes second finds the profile renewed.
    privateDir(tpHome(), 'tp home');
    const release = await lockFile(join(tpHome(), 'kube-credentials.lock'), 'tp kube credentials', {
      waitMs: 300_000,
      now: Date.now,
    });
    try {
      a = answer(loadProfile(), args.proxy, Date.now());
      if ('problem' in a) {
        process.stderr.write(`tp: ${a.problem.replace(/: run .*$/, '')}: logging in again\n`);
        await interactiveLogin(args.proxy);
        a = answer(loadProfile(), args.proxy, Date.now());
      }
    } finally {
      release();
    }
  }
  if ('problem' in a) {
    // Not through the runner's "error: ..." line: kubectl shows this line as it is, and it reads best as tp's own.
    process.stderr.write(`tp: ${a.problem}\n`);
    process.exit(exitCodeOf(new Unauthenticated(a.problem)));
  }
  process.stdout.write(`${execCredential(a.cert, a.key, a.expires)}\n`);
}
