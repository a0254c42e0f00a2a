import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  createReadStream,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describeEvent } from '../web/auditText.ts';
import { eventually } from './helpers/audit.ts';
import { haveChromium, startBrowser, type TestBrowser } from './helpers/browser.ts';
import { me, PASSWORD, type SshFixture, startSshFixture } from './helpers/sshFixture.ts';

// Files to and from a server from the web terminal, in Debian's headless Chromium: Upload and Download in the
// terminal's bar, over SFTP as the tab's login, byte-identical both ways, progress shown, refusals in words, and
// a 50 MB upload that the proxy streams instead of holding.
if (!haveChromium()) console.warn('SKIPPING the web file transfer tests: /usr/bin/chromium is not installed');

let f: SshFixture;
let b: TestBrowser;
let base: string;
let remote: string;

const sha256 = (path: string) =>
  new Promise<string>((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (c) => h.update(c))
      .on('end', () => resolve(h.digest('hex')))
      .on('error', reject);
  });

/** A logged-in page with a terminal open on files-node as `login`. */
async function terminal(login: string): Promise<Page> {
  const ctx = await b.browser.newContext({ viewport: { width: 1200, height: 800 }, acceptDownloads: true });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => b.errors.push(`${page.url()}: uncaught ${e.message}`));
  await page.goto(`${base}/web/login`);
  await page.getByLabel('User name').fill('ann');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
  await page.locator('tr[data-node="files-node"]').waitFor({ timeout: 10_000 });
  await page.evaluate(
    `history.pushState({ terminalFromApp: true }, '', '/web/terminal?node=files-node&login=${login}&name=files-node');` +
      "dispatchEvent(new PopStateEvent('popstate'))",
  );
  await page
    .getByTestId('term-status')
    .getByText(/Connected to files-node|Session ended/)
    .waitFor({ timeout: 20_000 });
  return page;
}

describe.skipIf(!haveChromium())('web terminal file transfer', () => {
  beforeAll(async () => {
    f = await startSshFixture([{ name: 'files-node' }]);
    const add = await f.admin(
      ['users', 'add', 'ann', '--roles', 'ops', '--logins', `${me},nobody`, '--password-stdin'],
      PASSWORD,
    );
    expect(add.code).toBe(0);
    remote = join(f.dir, 'remote');
    mkdirSync(remote);
    chmodSync(f.dir, 0o755);
    const port = f.cluster.proxy.addr.split(':')[1];
    base = `https://localhost:${port}`;
    b = await startBrowser(f.cluster.proxy.addr);
  });
  afterAll(async () => {
    await b?.close();
    await f?.close();
  });

  test('Upload sends chosen files into the directory given, byte-identical, with progress, audited with the path', async () => {
    const page = await terminal(me);
    await page.getByRole('button', { name: 'Upload' }).click();
    const dialog = page.getByRole('dialog', { name: 'Upload files to files-node' });
    await dialog.waitFor();
    // The destination starts at the login's home.
    expect(await dialog.getByLabel('Destination directory').inputValue()).toBe('~');
    const one = randomBytes(300_000);
    const two = Buffer.from('second file, ünïcödé name\n');
    await dialog.getByLabel('Files').setInputFiles([
      { name: 'one.bin', mimeType: 'application/octet-stream', buffer: one },
      { name: 'zwei ü.txt', mimeType: 'text/plain', buffer: two },
    ]);
    await dialog.getByLabel('Destination directory').fill(remote);
    await dialog.getByRole('button', { name: 'Upload', exact: true }).click();
    const items = dialog.getByTestId('transfer-item');
    await items.nth(1).getByText(`Uploaded to ${remote}/zwei ü.txt`).waitFor({ timeout: 20_000 });
    expect(await items.nth(0).getByRole('status').textContent()).toBe(`Uploaded to ${remote}/one.bin`);
    expect(await items.nth(0).getByRole('progressbar', { name: 'Progress of one.bin' }).getAttribute('value')).toBe(
      String(one.length),
    );
    expect(readFileSync(join(remote, 'one.bin')).equals(one)).toBe(true);
    expect(readFileSync(join(remote, 'zwei ü.txt')).equals(two)).toBe(true);
    await b.screenshot(page, 'terminal-upload-done');
    const e = await eventually(f.cluster.auth.admin, 'sftp', (x) => x.path === `${remote}/one.bin`);
    expect({
      user: e.user,
      login: e.login,
      action: e.action,
      bytes: e.bytes,
      via: e.via,
      server: e.server_name,
    }).toEqual({ user: 'ann', login: me, action: 'upload', bytes: one.length, via: 'web', server: 'files-node' });
    expect(describeEvent(e as never)).toBe(`ann uploaded ${remote}/one.bin to files-node as ${me}`);
    // The node audited the SFTP session under the same session ID, file by file: the temporary file written, then
    // renamed over the target.
    await eventually(f.cluster.auth.admin, 'session.start', (x) => x.session_id === e.session_id && x.kind === 'sftp');
    const renamed = await eventually(
      f.cluster.auth.admin,
      'sftp',
      (x) => x.session_id === e.session_id && x.action === 'rename' && x.target === `${remote}/one.bin`,
    );
    expect(String(renamed.path)).toMatch(/\/\.one\.bin\.tp-upload-[0-9a-f]{12}$/);
    await dialog.getByRole('button', { name: 'Close' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.context().close();
  });

  test('Download saves a remote file byte-identical under its own name; a missing file is said plainly', async () => {
    const content = randomBytes(700_000);
    writeFileSync(join(remote, 'report 2026.bin'), content);
    const page = await terminal(me);
    // The tab bar's server list starts at this tab's own server, not a blank choice.
    const hostId = f.cluster.agents.get('files-node')!.hostId;
    expect(await page.getByLabel('Server', { exact: true }).inputValue()).toBe(hostId);
    await page.getByRole('button', { name: 'Download' }).click();
    const dialog = page.getByRole('dialog', { name: 'Download a file from files-node' });
    await dialog.getByLabel('File on the server').fill(join(remote, 'report 2026.bin'));
    const saving = page.waitForEvent('download');
    await dialog.getByRole('button', { name: 'Download', exact: true }).click();
    const download = await saving;
    expect(download.suggestedFilename()).toBe('report 2026.bin');
    expect(readFileSync((await download.path())!).equals(content)).toBe(true);
    await dialog.getByTestId('transfer-item').getByText('Saved as report 2026.bin').waitFor();

    await dialog.getByLabel('File on the server').fill(join(remote, 'nope.txt'));
    await dialog.getByRole('button', { name: 'Download', exact: true }).click();
    await dialog
      .getByTestId('transfer-item')
      .getByText(`No such file or directory on files-node: ${join(remote, 'nope.txt')}.`)
      .waitFor({ timeout: 10_000 });
    await b.screenshot(page, 'terminal-download-missing');
    await page.context().close();
  });

  test('an upload the login may not write is refused in words, and leaves nothing behind', async () => {
    const page = await terminal('nobody');
    await page.getByRole('button', { name: 'Upload' }).click();
    const dialog = page.getByRole('dialog', { name: 'Upload files to files-node' });
    await dialog
      .getByLabel('Files')
      .setInputFiles([{ name: 'x.txt', mimeType: 'text/plain', buffer: Buffer.from('x') }]);
    await dialog.getByLabel('Destination directory').fill(remote);
    await dialog.getByRole('button', { name: 'Upload', exact: true }).click();
    await dialog
      .getByTestId('transfer-item')
      .getByText(`Permission denied on files-node: nobody may not use ${remote}/x.txt.`)
      .waitFor({ timeout: 20_000 });
    await page.context().close();
    b.takeErrors();
  });

  test('Cancel stops an upload half way: nothing arrives, nothing temporary is left, the failure is audited', async () => {
    const local = join(f.dir, 'cancelled.bin');
    const fd = openSync(local, 'w');
    for (let i = 0; i < 40; i++) writeSync(fd, randomBytes(1 << 20));
    closeSync(fd);
    const page = await terminal(me);
    // The browser sends at most 4 MB/s (about 10 s for the file), so Cancel lands half way on any machine: unthrottled
    // on a quiet one, 40 MB went through before the click and the upload succeeded.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: 4 * 1024 * 1024,
    });
    await page.getByRole('button', { name: 'Upload' }).click();
    const dialog = page.getByRole('dialog', { name: 'Upload files to files-node' });
    await dialog.getByLabel('Files').setInputFiles(local);
    await dialog.getByLabel('Destination directory').fill(remote);
    await dialog.getByRole('button', { name: 'Upload', exact: true }).click();
    // Under way: some of it sent, not all.
    await dialog
      .getByRole('status')
      .getByText(/^([1-9]|[1-8]\d)% of 40\.0 MB$/)
      .waitFor({ timeout: 30_000 });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    const e = await eventually(f.cluster.auth.admin, 'sftp', (x) => x.path === `${remote}/cancelled.bin`, 30_000);
    expect({ action: e.action, success: e.success }).toEqual({ action: 'upload', success: false });
    expect(existsSync(join(remote, 'cancelled.bin'))).toBe(false);
    expect(readdirSync(remote).filter((n) => n.includes('.tp-upload-'))).toEqual([]);
    await page.context().close();
  });

  test('a 50 MB upload arrives byte-identical while the proxy holds a small part of it at a time', async () => {
    const local = join(f.dir, 'big.bin');
    const fd = openSync(local, 'w');
    for (let i = 0; i < 50; i++) writeSync(fd, randomBytes(1 << 20));
    closeSync(fd);
    const page = await terminal(me);
    await page.getByRole('button', { name: 'Upload' }).click();
    const dialog = page.getByRole('dialog', { name: 'Upload files to files-node' });
    await dialog.getByLabel('Files').setInputFiles(local);
    await dialog.getByLabel('Destination directory').fill(remote);
    // Live memory, not garbage: every copy along the way (TLS, HTTP, SFTP, SSH, the tunnel) is garbage a moment
    // later, so each sample follows a full collection. Holding the file anywhere would keep 50 MB or more alive.
    const live = () => {
      Bun.gc(true);
      return process.memoryUsage().heapUsed;
    };
    const baseline = live();
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, live());
    }, 500);
    const started = performance.now();
    await dialog.getByRole('button', { name: 'Upload', exact: true }).click();
    try {
      await dialog.getByText(`Uploaded to ${remote}/big.bin`).waitFor({ timeout: 120_000 });
    } finally {
      clearInterval(sampler);
    }
    const seconds = (performance.now() - started) / 1000;
    const grew = (peak - baseline) / 2 ** 20;
    console.log(
      `50 MB web upload: ${seconds.toFixed(2)} s, live memory of the test process (proxy + node) grew by ${grew.toFixed(1)} MB at most`,
    );
    expect(await sha256(join(remote, 'big.bin'))).toBe(await sha256(local));
    // The proxy and the node both run in this process. Without the body's backpressure (Bun's node:http reads a
    // request body into memory as fast as it comes) this was 52-56 MB; with it, 13-20 MB (windows and buffers).
    expect(grew).toBeLessThan(32);
    // The temporary file it streamed into was renamed over the target.
    expect(readdirSync(remote).filter((n) => n.includes('.tp-upload-'))).toEqual([]);
    await page.context().close();
  });
});
