import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type { Page } from 'playwright-core';
import { haveChromium, startBrowser, type TestBrowser } from '../helpers/browser.ts';
import { waitFor } from '../helpers/cluster.ts';
import { auditEvents, me, PASSWORD, type SshFixture, startSshFixture } from '../helpers/sshFixture.ts';

// Issue 15, lower findings: a link /web/terminal?node=X&login=Y opened a shell for whoever clicked it. Opened from
// a link, the terminal now asks first, naming the server and login; the app's own Connect button goes straight in.
let f: SshFixture;
let b: TestBrowser;
let base: string;
let hostId: string;

const sessionsOf = async (user: string) => (await auditEvents(f, 'session.start')).filter((e) => e.user === user);

describe.skipIf(!haveChromium())('web terminal links', () => {
  beforeAll(async () => {
    f = await startSshFixture([{ name: 'link-node' }]);
    await f.user('tina', ['ops']);
    hostId = f.cluster.agents.get('link-node')!.hostId;
    base = `https://localhost:${f.cluster.proxy.addr.split(':')[1]}`;
    b = await startBrowser(f.cluster.proxy.addr);
    const page = await b.newPage();
    await page.goto(`${base}/web/login`);
    await page.getByLabel('User name').fill('tina');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    await page.locator('tr[data-node="link-node"]').waitFor();
    await page.close();
  });
  afterAll(async () => {
    await b?.close();
    await f?.close();
  });

  const connected = (page: Page) =>
    page
      .getByTestId('term-status')
      .getByText(/Connected to link-node/)
      .waitFor({ timeout: 20_000 });

  test('a link asks "Open a shell on X as Y?" and opens nothing until the person confirms', async () => {
    const page = await b.newPage();
    // What an attacker sends: the real node, a login of the victim's, and a friendly name of his choosing.
    await page.goto(`${base}/web/terminal?${new URLSearchParams({ node: hostId, login: me, name: 'your-laptop' })}`);
    const question = page.getByRole('heading', { name: `Open a shell on link-node (${hostId}) as ${me}?` });
    await question.waitFor();
    // Nothing connected: no terminal on the page, no session on the node.
    expect(await page.getByTestId('term-status').count()).toBe(0);
    expect(await sessionsOf('tina')).toHaveLength(0);
    await page.getByRole('button', { name: 'Open the shell' }).click();
    await connected(page);
    await waitFor('the confirmed session on the node', async () => (await sessionsOf('tina')).length === 1);
    await page.close();
  });

  test('Cancel goes back to the server list without a session', async () => {
    const page = await b.newPage();
    await page.goto(`${base}/web/terminal?${new URLSearchParams({ node: 'link-node', login: me })}`);
    await page.getByRole('heading', { name: `Open a shell on link-node (${hostId}) as ${me}?` }).waitFor();
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.locator('tr[data-node="link-node"]').waitFor();
    expect(await sessionsOf('tina')).toHaveLength(1);
    await page.close();
  });

  test("the app's own Connect button opens the terminal without asking", async () => {
    const page = await b.newPage();
    await page.goto(`${base}/web/nodes`);
    await page
      .locator('tr[data-node="link-node"]')
      .getByRole('button', { name: /Connect/ })
      .click();
    await connected(page);
    expect(await page.getByRole('button', { name: 'Open the shell' }).count()).toBe(0);
    await page.close();
  });
});
