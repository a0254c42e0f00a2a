import { spawnSync } from 'node:child_process';
import { defineCommand } from 'citty';
import { loadProfile, removeProfile } from '../core/client/profile.ts';
import { action } from './lib/context.ts';

export default defineCommand({
  meta: {
    name: 'logout',
    description: 'Delete the keys and certificates of the active profile (and remove them from ssh-agent)',
  },
  run: action(async () => {
    const p = loadProfile();
    if (p && process.env.SSH_AUTH_SOCK) spawnSync('ssh-add', ['-q', '-d', p.keyPath], { stdio: 'ignore' });
    const removed = removeProfile();
    process.stdout.write(removed ? `logged out of ${removed.cluster} (${removed.proxy})\n` : 'not logged in\n');
  }),
});
