import { defineCommand } from 'citty';
import { loadProfile } from '../core/client/profile.ts';
import { formatDuration } from '../core/clock.ts';
import { Unauthenticated } from '../core/errors.ts';
import { action, formatArg } from './lib/context.ts';
import { formatOf, print } from './lib/output.ts';

export default defineCommand({
  meta: {
    name: 'status',
    description: 'Show the active profile: proxy, user, logins and how long the certificates stay valid',
  },
  args: { ...formatArg },
  run: action(async (args) => {
    const p = loadProfile();
    if (!p) throw new Unauthenticated('not logged in: run `tp login --proxy HOST:PORT --user NAME`');
    const left = p.expires - Date.now();
    const s = {
      proxy: p.proxy,
      user: p.user,
      cluster: p.cluster,
      logins: p.logins,
      expires: new Date(p.expires).toISOString(),
      valid: left > 0,
      keys: p.dir,
    };
    print(formatOf(args.format), s, () =>
      [
        `> profile: ${p.proxy}`,
        `  cluster: ${p.cluster}`,
        `  user:    ${p.user}`,
        `  logins:  ${p.logins.join(', ') || '(none)'}`,
        `  valid:   ${left > 0 ? `${formatDuration(left)} (until ${s.expires})` : `EXPIRED at ${s.expires}: run tp login`}`,
      ].join('\n'),
    );
    if (left <= 0) process.exitCode = 6;
  }),
});
