import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import type { Locator, Page } from 'playwright-core';
import * as v from 'valibot';
import { AuditEventSchema } from '../core/api/schemas.ts';
import { EVENT_CODES } from '../core/audit/events.ts';
import { DESCRIBE } from '../web/auditText.ts';
import { haveChromium, startBrowser, type TestBrowser } from './helpers/browser.ts';
import { waitFor } from './helpers/cluster.ts';
import { me, PASSWORD, type SshFixture, startSshFixture } from './helpers/sshFixture.ts';

// What a new user meets in the web UI, in Debian's headless Chromium: the roles decide what is shown and an empty
// choice is explained, refusals read as sentences, and the layout holds on a phone (390×844).
if (!haveChromium()) console.warn('SKIPPING the web UI UX tests: /usr/bin/chromium is not installed');

let f: SshFixture;
let b: TestBrowser;
let base: string;

async function addUser(name: string, roles: string, logins: string): Promise<void> {
  const r = await f.admin(['users', 'add', name, '--roles', roles, '--logins', logins, '--password-stdin'], PASSWORD);
  expect(r.code).toBe(0);
}

async function logIn(page: Page, user: string): Promise<void> {
  await page.goto(`${base}/web/login`);
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
  await page.getByTestId('who').getByText(user).waitFor({ state: 'attached', timeout: 10_000 });
}

const PHONE = { width: 390, height: 844 };

/** Fails when the page is wider than the window (something would scroll sideways). */
async function noSidewaysScroll(page: Page): Promise<void> {
  const [scroll, inner] = (await page.evaluate('[document.documentElement.scrollWidth, innerWidth]')) as number[];
  expect(scroll).toBeLessThanOrEqual(inner!);
}

/** Fails unless the element is shown entirely inside the window. */
async function inView(page: Page, el: Locator): Promise<void> {
  const box = (await el.boundingBox())!;
  const { width, height } = page.viewportSize()!;
  expect(box.x).toBeGreaterThanOrEqual(0);
  expect(box.y).toBeGreaterThanOrEqual(0);
  expect(box.x + box.width).toBeLessThanOrEqual(width);
  expect(box.y + box.height).toBeLessThanOrEqual(height);
}

/** A fresh context (own cookies), optionally sized like a phone. */
async function pageFor(user: string, viewport = { width: 1200, height: 800 }): Promise<Page> {
  const ctx = await b.browser.newContext({ viewport });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => b.errors.push(`${page.url()}: uncaught ${e.message}`));
  await logIn(page, user);
  return page;
}

describe.skipIf(!haveChromium())('web UI for a new user', () => {
  beforeAll(async () => {
    f = await startSshFixture([{ name: 'ux-node', labels: { env: 'ux', team: 'web' } }]);
    await f.role(
      'metadata: {name: auditor}\nspec:\n  allow: {rules: [{resources: [recording, audit], verbs: [list, read]}]}\n',
    );
    await addUser('rooty', 'access', 'root');
    await addUser('ann', 'ops,auditor', me);
    const port = f.cluster.proxy.addr.split(':')[1];
    base = `https://localhost:${port}`;
    b = await startBrowser(f.cluster.proxy.addr);
  });
  afterAll(async () => {
    await b?.close();
    await f?.close();
  });

  test('a user whose roles deny every login is told why, and sees no page the roles close', async () => {
    const page = await pageFor('rooty');
    await page.locator('tr[data-node="ux-node"]').waitFor();
    expect(await page.getByTestId('no-logins').textContent()).toBe(
      'Your roles (access) grant no login on these servers: root is denied by role access. Ask an admin for a login your roles allow.',
    );
    const connect = page.locator('tr[data-node="ux-node"]').getByRole('button', { name: /Connect/ });
    expect(await connect.isDisabled()).toBe(true);
    expect(await connect.getAttribute('aria-describedby')).toBe('no-logins');
    // Recordings stay (each user sees their own); the audit log is closed to the access role, so it is not offered.
    const nav = page.getByRole('navigation', { name: 'Main' });
    expect(await nav.getByRole('link').allTextContents()).toEqual([
      'Servers',
      'Databases',
      'Applications',
      'Desktops',
      'Recordings',
      'Account',
    ]);
    // Typed in anyway, the page says in words what the roles refuse.
    await page.goto(`${base}/web/audit`);
    expect(await page.getByRole('alert').textContent()).toBe(
      'Your roles (access) do not allow listing the audit log. Ask an admin if you need it.',
    );
    await b.screenshot(page, 'servers-no-logins');
    await page.context().close();
  });

  test('tp users add warns when the roles deny a login it was given, and adds the user anyway', async () => {
    const r = await f.admin(['users', 'add', 'rooty2', '--roles', 'access', '--logins', 'nobody,root']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('warning: rooty2 cannot log in as root: role access denies it\n');
    const ok = await f.admin(['users', 'add', 'fine', '--roles', 'access', '--logins', 'nobody']);
    expect(ok.stderr).toBe('');
  });

  test('at 390 px the header folds behind a Menu button, server rows become cards, nothing scrolls sideways', async () => {
    const page = await pageFor('ann', PHONE);
    await page.locator('tr[data-node="ux-node"]').waitFor();
    expect(await page.title()).toBe('Servers · tp');
    await noSidewaysScroll(page);
    const connect = page.locator('tr[data-node="ux-node"]').getByRole('button', { name: /Connect/ });
    await inView(page, connect);
    // The navigation is folded; the Menu button opens it, and every item fits on the screen.
    const menu = page.getByRole('button', { name: 'Menu' });
    expect(await menu.getAttribute('aria-expanded')).toBe('false');
    expect(await page.getByRole('button', { name: 'Log out' }).isVisible()).toBe(false);
    await menu.click();
    await inView(page, page.getByRole('button', { name: 'Log out' }));
    await inView(page, page.getByRole('link', { name: 'Account' }));
    await b.screenshot(page, 'mobile-servers-menu');
    await page.getByRole('link', { name: 'Recordings' }).click();
    await page.getByRole('heading', { name: 'Session recordings' }).waitFor();
    expect(await menu.getAttribute('aria-expanded')).toBe('false');
    await noSidewaysScroll(page);
    // The audit log's rows become cards too: what happened is on the screen, not behind a sideways scroll.
    await page.goto(`${base}/web/audit`);
    await page.locator('tr[data-type]').first().waitFor({ timeout: 10_000 });
    await noSidewaysScroll(page);
    await inView(page, page.locator('tr[data-type]').first().getByTestId('event-text'));
    await b.screenshot(page, 'mobile-audit');
    await page.goto(`${base}/web/account`);
    await page.getByRole('heading', { name: /Account/ }).waitFor({ timeout: 10_000 });
    await noSidewaysScroll(page);
    await page.context().close();
  });

  test('the terminal fits a phone, an error banner does not push it off the screen, Reconnect after the end', async () => {
    const page = await pageFor('ann', PHONE);
    await page
      .locator('tr[data-node="ux-node"]')
      .getByRole('button', { name: /Connect/ })
      .click();
    const status = page.getByTestId('term-status');
    await status.getByText(/Connected to ux-node/).waitFor({ timeout: 20_000 });
    expect(await page.title()).toBe(`${me}@ux-node · tp`);
    await noSidewaysScroll(page);
    await inView(page, page.getByTestId('terminal'));
    await page.getByTestId('terminal').click();
    await page.keyboard.type('exit\n');
    await status.getByText('Session ended.').waitFor();
    await page.getByRole('button', { name: 'Reconnect' }).click();
    await status.getByText(/Connected to ux-node/).waitFor({ timeout: 20_000 });
    expect(await page.getByRole('button', { name: 'Reconnect' }).count()).toBe(0);
    // A login the roles refuse: the refusal shows above the terminal, which shrinks to stay on the screen.
    await page.evaluate(
      "history.pushState({ terminalFromApp: true }, '', '/web/terminal?node=ux-node&login=nobody&name=ux-node');" +
        "dispatchEvent(new PopStateEvent('popstate'))",
    );
    await waitFor('the refusal', async () => (await status.getAttribute('class')) === 'error', 20_000);
    expect(await status.textContent()).toMatch(/^Login "nobody" is not allowed by roles \[ops, auditor\]\.$/);
    await b.screenshot(page, 'mobile-terminal-error');
    await noSidewaysScroll(page);
    await inView(page, page.getByTestId('terminal'));
    await page.context().close();
    b.takeErrors();
  });

  test('an unknown address shows a 404 page with its own title', async () => {
    const page = await pageFor('ann');
    await page.goto(`${base}/web/no-such-page`);
    await page.getByRole('heading', { name: 'Page not found' }).waitFor();
    expect(await page.title()).toBe('Page not found · tp');
    expect(await page.locator('tr[data-node]').count()).toBe(0);
    await page.getByRole('link', { name: 'Go to the servers' }).click();
    await page.locator('tr[data-node="ux-node"]').waitFor();
    await page.context().close();
  });

  test('"You have logged out." goes once the person tries to log in again', async () => {
    const page = await pageFor('ann');
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByTestId('login-notice').getByText('You have logged out.').waitFor();
    expect(await page.title()).toBe('Log in · tp');
    await page.getByLabel('User name').fill('ann');
    await page.getByLabel('Password').fill('not the password at all');
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    await page.getByTestId('login-error').waitFor();
    expect(await page.getByTestId('login-notice').count()).toBe(0);
    await page.context().close();
  });

  test('servers: env:ux and "env = ux" both filter, label chips filter on click, the address keeps the filters', async () => {
    await f.cluster.addAgent({ name: 'lab-node', labels: { env: 'lab' } });
    const page = await pageFor('ann');
    const rows = () => page.locator('tr[data-node]').evaluateAll((r) => r.map((x) => x.getAttribute('data-node')));
    const showing = (names: string[]) =>
      waitFor(`servers ${names}`, async () => JSON.stringify(await rows()) === JSON.stringify(names), 10_000);
    await page.goto(`${base}/web/nodes?label=env:ux`);
    await showing(['ux-node']);
    expect(await page.getByLabel('Label').inputValue()).toBe('env:ux');
    await page.getByLabel('Label').fill('env = lab');
    await showing(['lab-node']);
    expect(new URL(page.url()).searchParams.get('label')).toBe('env = lab');
    await page.reload();
    await showing(['lab-node']);
    expect(await page.getByLabel('Label').inputValue()).toBe('env = lab');
    await page.getByLabel('Label').fill('');
    await showing(['lab-node', 'ux-node']);
    // A chip narrows the list and adds a history entry: Back returns to the whole list, Forward to the chip's.
    await page.locator('tr[data-node="ux-node"]').getByRole('button', { name: 'team=web' }).click();
    await showing(['ux-node']);
    expect(await page.getByLabel('Label').inputValue()).toBe('team=web');
    await page.goBack();
    await showing(['lab-node', 'ux-node']);
    expect(await page.getByLabel('Label').inputValue()).toBe('');
    await page.goForward();
    await showing(['ux-node']);
    await page.context().close();
  });

  test('servers: sorting by a column is kept in the address; each row offers only the logins the roles grant there', async () => {
    const page = await pageFor('ann');
    const rows = () => page.locator('tr[data-node]').evaluateAll((r) => r.map((x) => x.getAttribute('data-node')));
    await page.goto(`${base}/web/nodes`);
    await waitFor('both servers', async () => (await rows()).length === 2, 10_000);
    expect(await rows()).toEqual(['lab-node', 'ux-node']);
    await page.getByRole('button', { name: 'Name' }).click();
    await waitFor('descending order', async () => (await rows())[0] === 'ux-node', 10_000);
    expect(new URL(page.url()).searchParams.get('sort')).toBe('-name');
    expect(await page.getByRole('columnheader', { name: /Name/ }).getAttribute('aria-sort')).toBe('descending');
    await page.reload();
    await waitFor('descending order after reload', async () => (await rows())[0] === 'ux-node', 10_000);
    // ann's roles grant her login on every server: each Connect names it.
    expect(
      await page
        .locator('tr[data-node="ux-node"]')
        .getByRole('button', { name: `Connect to ux-node as ${me}` })
        .count(),
    ).toBe(1);
    await page.context().close();
  });

  test('servers: each row connects with a login the roles grant on that server', async () => {
    await f.role('metadata: {name: ux-only}\nspec:\n  allow: {logins: [alpha], node_labels: {env: ux}}\n');
    await f.role('metadata: {name: lab-only}\nspec:\n  allow: {logins: [beta], node_labels: {env: lab}}\n');
    await addUser('duo', 'ux-only,lab-only', 'duo');
    const page = await pageFor('duo');
    await page.locator('tr[data-node="lab-node"]').waitFor({ timeout: 10_000 });
    expect(await page.getByLabel('Log in as').inputValue()).toBe('alpha');
    const connect = (node: string) => page.locator(`tr[data-node="${node}"]`).getByRole('button', { name: /Connect/ });
    expect(await connect('ux-node').getAttribute('aria-label')).toBe('Connect to ux-node as alpha');
    expect(await connect('lab-node').getAttribute('aria-label')).toBe('Connect to lab-node as beta');
    await page.context().close();
  });

  test('audit: prefix filter in any case, a sentence per event, Play links, fields and JSON, export, dates', async () => {
    const page = await pageFor('ann');
    await page.goto(`${base}/web/audit`);
    // Every type the cluster records is suggested, and each has a sentence.
    await waitFor(
      'the suggested types',
      async () => (await page.locator('#types option').count()) === Object.keys(EVENT_CODES).length,
      5000,
    );
    const suggested = await page.locator('#types option').evaluateAll((o) => o.map((x) => x.getAttribute('value')));
    expect(suggested.sort()).toEqual(Object.keys(EVENT_CODES).sort());
    expect(Object.keys(DESCRIBE).sort()).toEqual(Object.keys(EVENT_CODES).sort());
    await page.getByLabel('Event type').fill('Session');
    await page.locator('table[data-shown-type="Session"]').waitFor({ timeout: 10_000 });
    const types = new Set(
      await page.locator('tr[data-type]').evaluateAll((r) => r.map((x) => x.getAttribute('data-type'))),
    );
    expect(types).toEqual(new Set(['session.start', 'session.end']));
    const start = page.locator('tr[data-type="session.start"]').first();
    expect(await start.getByTestId('event-text').textContent()).toBe(`ann started a session on ux-node as ${me} Play`);
    // The event's fields as a list; the JSON only when asked.
    await start.getByRole('button', { name: 'session.start' }).click();
    const detail = page.getByTestId('event-detail');
    expect(await detail.locator('dt').allTextContents()).toContain('session_id');
    expect(await detail.locator('pre').count()).toBe(0);
    await detail.getByRole('button', { name: 'JSON' }).click();
    expect(JSON.parse((await detail.locator('pre').textContent())!).type).toBe('session.start');
    await b.screenshot(page, 'audit-session');
    // Export: the rows of this filter, one JSON object a line.
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 10_000 }),
      page.getByRole('button', { name: 'Export JSON lines' }).click(),
    ]);
    const lines = readFileSync((await download.path())!, 'utf8')
      .trim()
      .split('\n');
    expect(lines.length).toBe(await page.locator('tr[data-type]').count());
    expect(lines.every((l) => (JSON.parse(l) as { type: string }).type.startsWith('session.'))).toBe(true);
    // A date range that ended before these sessions shows none.
    await page.getByLabel('When').selectOption({ label: 'dates…' });
    const hourAgo = (await page.evaluate(
      'new Date(Date.now() - 3600e3 - new Date().getTimezoneOffset() * 60e3).toISOString().slice(0, 16)',
    )) as string;
    await page.getByLabel('To').fill(hourAgo);
    await page.getByText('No events match.').waitFor({ timeout: 10_000 });
    await page.getByLabel('To').fill('');
    await page.locator('tr[data-type="session.start"]').first().waitFor({ timeout: 10_000 });
    // Play opens the session's recording.
    await page
      .locator('tr[data-type="session.start"]')
      .first()
      .getByRole('link', { name: /Play the recording/ })
      .click();
    await page.getByTestId('player').waitFor({ timeout: 10_000 });
    expect(page.url()).toMatch(/\/web\/recordings\/[0-9a-f-]{36}$/);
    // The moment shown in wall-clock time; a link to a moment opens there, paused, and can be copied.
    const wall = Date.parse((await page.getByTestId('player-wall').getAttribute('datetime'))!);
    expect(Math.abs(Date.now() - wall)).toBeLessThan(10 * 60_000);
    // A moment halfway through (to a tenth of a second; the recorded session is short).
    const half = Math.floor(Number(await page.locator('#seek').getAttribute('max')) / 200) / 10;
    await page.goto(`${page.url()}?t=${half.toFixed(1)}`);
    await page.getByTestId('player').locator('.xterm-rows').waitFor({ timeout: 10_000 });
    expect(await page.locator('#seek').inputValue()).toBe(String(Math.round(half * 1000)));
    expect(await page.getByTestId('play').textContent()).toBe('Play');
    await page.getByRole('button', { name: 'Copy link to this moment' }).click();
    expect(await page.getByTestId('moment-link').textContent()).toMatch(
      new RegExp(`/web/recordings/[0-9a-f-]{36}\\?t=${half.toFixed(1).replace('.', '\\.')}$`),
    );
    await page.context().close();
  });

  test('a server that cannot be reached is audited as resource.unreachable, not as a failed authentication', async () => {
    const gone = await f.cluster.addAgent({ name: 'gone-node' });
    const page = await pageFor('ann');
    await page.locator('tr[data-node="gone-node"]').waitFor({ timeout: 10_000 });
    await gone.close();
    await page
      .locator('tr[data-node="gone-node"]')
      .getByRole('button', { name: /Connect/ })
      .click();
    const status = page.getByTestId('term-status');
    await waitFor('the failure', async () => (await status.getAttribute('class')) === 'error', 20_000);
    const events = async (type: string) =>
      (
        await f.cluster.auth.admin.get(v.array(AuditEventSchema), `/v1/audit/events?type=${type}&user=ann&limit=500`)
      ).filter(
        (e) =>
          e.via === 'web' && e.login === me && e.error !== undefined && /gone-node|offline|reach/.test(String(e.error)),
      );
    await waitFor('the unreachable event', async () => (await events('resource.unreachable')).length === 1, 10_000);
    expect(await events('auth.attempt')).toEqual([]);
    await page.context().close();
  });
});
