import { spawn } from 'node:child_process';

/**
 * Opens `url` in the user's browser when there is one to open (a desktop session, or TP_BROWSER naming a command);
 * returns false when the URL must be opened by hand. `--browser none` never opens anything.
 */
export function openBrowser(url: string, choice: string | undefined): boolean {
  if (choice === 'none') return false;
  const command =
    process.env.TP_BROWSER ||
    (process.platform === 'darwin'
      ? 'open'
      : process.env.DISPLAY || process.env.WAYLAND_DISPLAY
        ? 'xdg-open'
        : undefined);
  if (!command) return false;
  const child = spawn(command, [url], { stdio: 'ignore', detached: true });
  // A missing opener only gets a note: the URL is printed either way.
  child.on('error', (err) => process.stderr.write(`could not open a browser (${err.message})\n`));
  child.unref();
  return true;
}
