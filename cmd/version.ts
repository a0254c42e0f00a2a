import { defineCommand } from 'citty';
import pkg from '../package.json' with { type: 'json' };
import { formatArg, formatOf, print } from './lib/output.ts';

export default defineCommand({
  meta: { name: 'version', description: 'Print the tp version' },
  args: { ...formatArg },
  run: async ({ args }) => {
    const info = { version: pkg.version, bun: Bun.version };
    await print(formatOf(args.format), 'version', info, () => `tp v${info.version} (bun ${info.bun})`);
  },
});
