import { spawnSync } from 'node:child_process';
import { defineCommand } from 'citty';
import { enrolsTotp } from '../core/auth/secondFactor.ts';
import { login, pingProxy } from '../core/client/login.ts';
import { loadProfile, type Profile } from '../core/client/profile.ts';
import { ssoLogin } from '../core/client/ssoLogin.ts';
import { formatDuration } from '../core/clock.ts';
import { BadParameter } from '../core/errors.ts';
import { openBrowser } from './lib/browser.ts';
import { action, durationArg, formatArg, proxyArg, readableFileArg, readStdin } from './lib/context.ts';
import { formatOf, print } from './lib/output.ts';
import { profileView } from './lib/outputViews.ts';
import { ask } from './lib/prompt.ts';

/** Loads the new certificate into the running ssh-agent (when SSH_AUTH_SOCK is set) for as long as it is valid. */
function addToAgent(p: Profile): string | undefined {
  if (!process.env.SSH_AUTH_SOCK) return undefined;
  const secs = Math.max(1, Math.floor((p.expires - Date.now()) / 1000));
  const r = spawnSync('ssh-add', ['-q', '-t', String(secs), p.keyPath], { encoding: 'utf8' });
  return r.status === 0
    ? 'added to ssh-agent'
    : `could not add to ssh-agent: ${(r.stderr || r.error?.message || '').trim()}`;
}

/** Logs in with password (+ second factor) and saves a profile. Reused by `tp ssh` to re-login interactively. */
export async function doLogin(o: {
  proxy: string;
  user: string;
  password?: string;
  otp?: string;
  ttlMs?: number;
  insecure?: boolean;
  caFile?: string;
}): Promise<{ profile: Profile; agent?: string }> {
  const trust = { insecure: o.insecure, caFile: o.caFile };
  const { ping } = await pingProxy(o.proxy, trust);
  const password = o.password ?? (await ask(`Password for ${o.user}@${ping.cluster}: `, true));
  const otp = o.otp ?? (enrolsTotp(ping.secondFactor) ? await ask('Second-factor code (6 digits): ') : undefined);
  const profile = await login({ proxy: o.proxy, user: o.user, password, otp, ttlMs: o.ttlMs, trust });
  return { profile, agent: addToAgent(profile) };
}

export default defineCommand({
  meta: {
    name: 'login',
    description:
      'Log in to a cluster through its proxy: makes keys here and gets short-lived SSH + X.509 certificates for them.\n' +
      'Keys and profile go to TP_HOME (default ~/.tp); with SSH_AUTH_SOCK set the certificate is added to ssh-agent.\n' +
      'Example: tp login --proxy tp.example.com:3080 --user alice',
  },
  args: {
    proxy: { type: 'string', description: "Proxy address host:port (default: the last profile's)" },
    user: { type: 'string', description: "User name (default: the last profile's)" },
    auth: {
      type: 'string',
      description:
        'Log in through single sign-on with this connector (see `tp sso ls`): prints a URL, opens a browser when\n' +
        "it can, and finishes when the browser, after you confirm on the proxy's page, comes back to a port on\n" +
        '127.0.0.1 with the certificates sealed to a key only this process holds',
    },
    browser: { type: 'string', description: 'With --auth: "none" only prints the URL (default: open one if possible)' },
    'password-stdin': { type: 'boolean', description: 'Read the password from stdin instead of prompting' },
    otp: { type: 'string', description: 'Second-factor code (prompted for when needed)' },
    ttl: { type: 'string', description: 'Certificate lifetime, e.g. 8h (capped by your roles)' },
    insecure: {
      type: 'boolean',
      description: "Do not verify the proxy's TLS certificate (first contact with a self-signed proxy)",
    },
    'ca-cert': {
      type: 'string',
      description: 'Trust this CA bundle for the proxy (e.g. from `tp ca export --type tls`)',
    },
    ...formatArg,
  },
  run: action(async (args) => {
    const last = loadProfile();
    const proxy = args.proxy !== undefined ? proxyArg(args.proxy) : last?.proxy;
    const caFile = readableFileArg('ca-cert', args['ca-cert']);
    const user = args.user ?? last?.user;
    if (!proxy) throw new BadParameter('--proxy HOST:PORT is required for the first login');
    if (args.insecure) process.stderr.write("warning: --insecure: the proxy's certificate is not verified\n");
    if (args.auth) {
      const { profile } = await ssoLogin({
        proxy,
        connector: args.auth,
        mode: 'cli',
        ttlMs: durationArg('ttl', args.ttl),
        trust: { insecure: args.insecure, caFile },
        onUrl: (url) => {
          const opened = openBrowser(url, args.browser);
          process.stderr.write(
            `${opened ? 'If the browser did not open, open' : 'Open'} this URL to log in with ${args.auth}:\n  ${url}\n` +
              'then confirm on the page that names the cluster; the certificates come back to this process only\n',
          );
        },
      });
      return await report(args.format, profile!, addToAgent(profile!));
    }
    if (!user) throw new BadParameter('--user NAME is required for the first login');
    const password = args['password-stdin'] ? (await readStdin()).replace(/\r?\n$/, '') : undefined;
    const { profile, agent } = await doLogin({
      proxy,
      user,
      password,
      otp: args.otp,
      ttlMs: durationArg('ttl', args.ttl),
      insecure: args.insecure,
      caFile,
    });
    await report(args.format, profile, agent);
  }),
});

/** Prints the new profile: who, where, which logins, until when. */
async function report(format: string | undefined, profile: Profile, agent: string | undefined): Promise<void> {
  const status = { ...profileView(profile, Date.now()), ssh_agent: agent ?? null };
  await print(formatOf(format), 'login', status, () =>
    [
      `logged in to ${profile.cluster} as ${profile.user} via ${profile.proxy}`,
      `  logins: ${profile.logins.join(', ') || '(none)'}`,
      `  valid:  ${formatDuration(profile.expires - Date.now())} (until ${status.expires})`,
      agent ? `  ${agent}` : '',
    ]
      .filter(Boolean)
      .join('\n'),
  );
}
