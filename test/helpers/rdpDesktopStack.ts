// What the RDP desktop tests with a real tp share: a real xrdp fronting an 800x600 Xvnc of a known root colour with
// an xterm that writes the first line typed into it to a file, a scratch folder holding the VNC password as an
// agent password file, and the agent config and waits around them.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startXrdp, type Xrdp, xrdpMissing } from '../fixtures/xrdp.ts';
import { webCall, webLogin } from './accountWeb.ts';
import { haveChromium } from './browser.ts';
import { waitFor } from './cluster.ts';
import type { OperatorCluster } from './operatorCluster.ts';
import { PASSWORD } from './operatorCluster.ts';
import { startXvnc, type Xvnc, xvncMissing } from './xvnc.ts';

/** Why RDP tests in Chromium cannot run here (Chromium, Xvnc or xrdp missing), or undefined when they can. */
export const rdpBrowserMissing = !haveChromium() ? 'Chromium is not installed' : (xvncMissing ?? xrdpMissing);

/** The servers and files of one RDP test. */
export interface RdpStack extends AsyncDisposable {
  x: Xvnc;
  xrdp: Xrdp;
  /** A scratch folder for the test's cluster. */
  dir: string;
  /** Where the xterm writes the first line typed into it (absent until then). */
  typed: string;
  /** A password file holding the VNC password (xrdp hands the RDP password to the VNC server). */
  pwFile: string;
  close(): Promise<void>;
}

/** Starts Xvnc (root `colour`, the xterm at 40x6+400+300) and xrdp in front of it, and a folder named `prefix...`. */
export async function startRdpStack(colour: string, prefix: string): Promise<RdpStack> {
  const x = await startXvnc({ width: 800, height: 600, colour });
  const typed = join(x.dir, 'typed');
  x.spawn(['xterm', '-geometry', '40x6+400+300', '-e', 'sh', '-c', `read line; printf %s "$line" > ${typed}`]);
  const xrdp = await startXrdp({ vncPort: x.port });
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const pwFile = join(dir, 'win1.password');
  writeFileSync(pwFile, `${x.password}\n`);
  const close = async () => {
    await xrdp.close();
    await x.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return { x, xrdp, dir, typed, pwFile, close, [Symbol.asyncDispose]: close };
}

/** One RDP desktop an agent serves: with `username` and `passwordFile` it logs in with its own account. */
export interface RdpDesktopEntry {
  name: string;
  addr: string;
  env: string;
  username?: string;
  passwordFile?: string;
}

/** The agent's tp.yaml serving `desktops` (each labelled `env`). */
export function rdpAgentConfig(desktops: RdpDesktopEntry[]): string {
  const lines = desktops.map((d) => {
    const creds = d.username ? ` username: ${d.username}, password_file: "${d.passwordFile}",` : '';
    return `    - {name: ${d.name}, protocol: rdp, addr: "${d.addr}",${creds} labels: {env: ${d.env}}}\n`;
  });
  return `desktops:\n  enabled: true\n  desktops:\n${lines.join('')}`;
}

/** Resolves once alice's desktop listing in the web API shows at least `n` desktops online (within 30 s). */
export async function waitDesktopsOnline(c: OperatorCluster, n: number, what: string): Promise<void> {
  const login = await webLogin(`https://${c.proxy}`, { username: 'alice', password: PASSWORD });
  await waitFor(
    what,
    async () =>
      (
        JSON.stringify(
          (await webCall(`https://${c.proxy}`, 'GET', '/webapi/ui/resources/desktop', { session: login.session })).body,
        ).match(/"online":true/g) ?? []
      ).length >= n,
    30_000,
  );
}
