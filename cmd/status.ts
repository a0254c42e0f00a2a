import { defineCommand } from 'citty';
import { loadProfile } from '../core/client/profile.ts';
import { formatDuration } from '../core/clock.ts';
import { Unauthenticated } from '../core/errors.ts';
import { action, formatArg } from './lib/context.ts';
import { formatOf, print } from './lib/output.ts';
import { profileView } from './lib/outputViews.ts';

export default defineCommand({
  meta: {
    name: 'status',
    description: 'Show the active profile: proxy, user, logins and how long the certificates stay valid',
  },
  args: { ...formatArg },
  run: action(async (args) => {
    const p = loadProfile();
    if (!p) throw new Unauthenticated('not logged in: run `tp login --proxy HOST:PORT --user NAME`');
    const now = Date.now();
    const left = p.expires - now;
    const s = profileView(p, now);
    await print(formatOf(args.format), 'status', s, () =>
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
