import { defineCommand } from 'citty';
import { plainText } from '../core/audit/recording.ts';
import { BadParameter } from '../core/errors.ts';
import { action, adminArgs, adminAuth } from './lib/context.ts';
import { print } from './lib/output.ts';
import { recordingView } from './lib/outputViews.ts';

export default defineCommand({
  meta: {
    name: 'play',
    description:
      'Replay a recorded session. --format pty replays with its timing (--speed 2 = twice as fast); text prints the\n' +
      'plain output a person saw (escape codes stripped); json (or yaml) prints the recording and its timed events.',
  },
  args: {
    session: { type: 'positional', required: true, description: 'Session ID (see `tp recordings ls`)' },
    format: { type: 'string', default: 'pty', description: 'pty, text, json or yaml' },
    speed: { type: 'string', default: '1', description: 'Playback speed for pty' },
    ...adminArgs,
  },
  run: action(async (args) => {
    const speed = Number(args.speed);
    if (!(speed > 0)) throw new BadParameter('--speed must be a positive number');
    if (!['pty', 'text', 'json', 'yaml'].includes(args.format))
      throw new BadParameter('--format must be pty, text, json or yaml');
    const r = await adminAuth(args).getRecording(args.session);
    if (args.format === 'json' || args.format === 'yaml') {
      await print(args.format, 'play', { recording: recordingView(r.meta), events: r.events }, () => '');
      return;
    }
    if (r.meta.kind === 'desktop')
      throw new BadParameter(`session ${args.session} is a desktop session: play it in the web UI (or --format json)`);
    if (args.format === 'text') {
      process.stdout.write(plainText(r.events));
      return;
    }
    let last = 0;
    for (const [ms, stream, data] of r.events) {
      // Long idle gaps are capped at 2 s so a replay never stalls.
      await Bun.sleep(Math.min((ms - last) / speed, 2000));
      last = ms;
      (stream === 'e' ? process.stderr : process.stdout).write(data);
    }
  }),
});
