import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { haveChromium, startBrowser, type TestBrowser } from './helpers/browser.ts';
import { waitFor } from './helpers/cluster.ts';
import { dbSpec, withFixtureDb } from './helpers/resourceFixture.ts';
import { me, PASSWORD, type SshFixture, startSshFixture } from './helpers/sshFixture.ts';

// Every page of the web UI checked by axe-core in light and dark mode (0 violations, colour contrast included),
// plus what axe does not measure: the focus ring and form field borders against what is behind them (3:1).
if (!haveChromium()) console.warn('SKIPPING the web UI accessibility tests: /usr/bin/chromium is not installed');

const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

let f: SshFixture;
let b: TestBrowser;
let base: string;
let signupToken = '';
let recording = '';

interface Violation {
  id: string;
  impact: string;
  help: string;
  nodes: { target: string[]; failureSummary?: string }[];
}

/** axe-core's violations on the page as it is now, each with the elements it names (printed when any). */
async function axeViolations(page: Page): Promise<Violation[]> {
  await page.addScriptTag({ content: AXE });
  const r = (await page.evaluate('axe.run(document, { resultTypes: ["violations"] })')) as {
    violations: Violation[];
    passes: unknown[];
  };
  // axe really looked: a drawn page passes dozens of its rules (a blank or unstyled one far fewer).
  expect(r.passes.length).toBeGreaterThan(10);
  return r.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary })),
  }));
}

/** WCAG contrast ratio of two `rgb(...)` colours. */
function contrast(a: string, b: string): number {
  const lum = (c: string) => {
    const [r, g, bl] = (c.match(/[\d.]+/g) ?? []).slice(0, 3).map((x) => {
      const v = Number(x) / 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * bl!;
  };
  const [x, y] = [lum(a), lum(b)];
  return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
}

async function logIn(page: Page): Promise<void> {
  await page.goto(`${base}/web/login`);
  await page.getByLabel('User name').fill('ann');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
  await page.getByTestId('who').waitFor({ state: 'attached', timeout: 10_000 });
}

/** Each page, with what shows it is drawn. */
const PAGES: [name: string, path: () => string, ready: (p: Page) => Promise<unknown>][] = [
  ['servers', () => '/web/nodes', (p) => p.locator('tr[data-node="axe-node"]').waitFor({ timeout: 10_000 })],
  ['databases', () => '/web/databases', (p) => p.locator('tr[data-db="axe-db"]').waitFor({ timeout: 10_000 })],
  ['desktops', () => '/web/desktops', (p) => p.getByText('No desktops match.').waitFor({ timeout: 10_000 })],
  [
    'desktop-link',
    () => '/web/desktops/lab1',
    (p) => p.getByRole('heading', { name: 'Open desktop lab1?' }).waitFor({ timeout: 10_000 }),
  ],
  [
    'terminal',
    () => '/web/terminal?node=axe-node&login=root&name=axe-node',
    (p) => p.getByRole('heading', { name: /Open a shell/ }).waitFor({ timeout: 10_000 }),
  ],
  ...(['Upload', 'Download'] as const).map((which): (typeof PAGES)[number] => [
    // The terminal's file transfer dialogs, opened from a live session (as the app's own Connect opens it).
    `${which.toLowerCase()}-dialog`,
    () => '/web/nodes',
    async (p) => {
      await p.locator('tr[data-node="axe-node"]').waitFor({ timeout: 10_000 });
      await p.evaluate(
        `history.pushState({ terminalFromApp: true }, '', '/web/terminal?node=axe-node&login=${me}&name=axe-node');` +
          "dispatchEvent(new PopStateEvent('popstate'))",
      );
      await p
        .getByTestId('term-status')
        .getByText(/Connected to axe-node/)
        .waitFor({ timeout: 20_000 });
      await p.getByRole('button', { name: which }).click();
      await p.getByRole('dialog', { name: new RegExp(`^${which}`) }).waitFor({ timeout: 10_000 });
    },
  ]),
  ['recordings', () => '/web/recordings', (p) => p.locator('tr[data-session]').first().waitFor({ timeout: 10_000 })],
  [
    'player',
    () => `/web/recordings/${recording}`,
    (p) =>
      p.getByRole('heading', { name: 'Commands' }).or(p.getByText('No shell commands')).waitFor({ timeout: 10_000 }),
  ],
  ['audit', () => '/web/audit', (p) => p.locator('tr[data-type]').first().waitFor({ timeout: 10_000 })],
  ['account', () => '/web/account', (p) => p.getByRole('heading', { name: /Account/ }).waitFor({ timeout: 10_000 })],
  [
    // The inline form that adds an authenticator app (name, QR code, secret, codes).
    'account-add-app',
    () => '/web/account',
    async (p) => {
      await p.getByRole('heading', { name: /Account/ }).waitFor({ timeout: 10_000 });
      await p.getByRole('button', { name: 'Add an authenticator app' }).click();
      await p.getByRole('form', { name: 'Add an authenticator app' }).getByTestId('totp-qr').waitFor();
    },
  ],
  ['404', () => '/web/nowhere', (p) => p.getByRole('heading', { name: 'Page not found' }).waitFor({ timeout: 10_000 })],
];

async function checkScheme(browser: Browser, scheme: 'light' | 'dark'): Promise<void> {
  // The pages' CSP allows only their own scripts; the test's copy of axe-core is let in.
  const ctx = await browser.newContext({
    colorScheme: scheme,
    viewport: { width: 1200, height: 800 },
    bypassCSP: true,
  });
  const found: Record<string, Violation[]> = {};
  try {
    const page = await ctx.newPage();
    await page.goto(`${base}/web/login`);
    await page.getByLabel('User name').waitFor();
    found.login = await axeViolations(page);
    await page.goto(`${base}/web/invite/${signupToken}`);
    await page.getByLabel('New password').waitFor({ timeout: 10_000 });
    found.signup = await axeViolations(page);
    await logIn(page);
    for (const [name, path, ready] of PAGES) {
      await page.goto(`${base}${path()}`);
      await ready(page);
      found[name] = await axeViolations(page);
      await b.screenshot(page, `${name}-${scheme}`);
    }
  } finally {
    await ctx.close();
  }
  const bad = Object.entries(found).filter(([, v]) => v.length > 0);
  if (bad.length > 0) console.error(`axe violations (${scheme}):\n${JSON.stringify(Object.fromEntries(bad), null, 2)}`);
  expect(Object.fromEntries(bad)).toEqual({});
}

describe.skipIf(!haveChromium())('web UI accessibility (axe-core)', () => {
  beforeAll(async () => {
    const dbs = withFixtureDb(() => [dbSpec('axe-db', { env: 'axe' })]);
    f = await startSshFixture([{ name: 'axe-node', labels: { env: 'axe' } }], undefined, undefined, dbs);
    await f.role(
      'metadata: {name: auditor}\nspec:\n  allow: {rules: [{resources: [recording, audit], verbs: [list, read]}]}\n',
    );
    await f.role(
      'metadata: {name: dbs}\nspec:\n  allow: {db_labels: {"*": "*"}, db_users: ["{{internal.db_users}}"]}\n',
    );
    const add = await f.admin(
      ['users', 'add', 'ann', '--roles', 'ops,auditor,dbs', '--logins', me, '--db-users', 'ann', '--password-stdin'],
      PASSWORD,
    );
    expect(add.code).toBe(0);
    const invite = await f.admin(['users', 'add', 'newbie', '--roles', 'access', '--logins', 'nobody']);
    signupToken = /\/web\/invite\/([A-Za-z0-9_-]+)/.exec(invite.stdout)![1]!;
    // One recorded session, for the recordings list and the player.
    const ann = await f.user('ann2', ['ops']);
    expect((await ann.tp(['ssh', 'axe-node', 'echo', 'recorded'])).code).toBe(0);
    await waitFor(
      'the recording',
      async () => {
        const recs = await f.cluster.auth.client.listRecordings(1000);
        recording = recs.find((r) => r.status === 'complete')?.sessionId ?? '';
        return recording !== '';
      },
      20_000,
    );
    const port = f.cluster.proxy.addr.split(':')[1];
    base = `https://localhost:${port}`;
    b = await startBrowser(f.cluster.proxy.addr);
  });
  afterAll(async () => {
    await b?.close();
    await f?.close();
  });

  test('every page has no axe-core violations in light mode', async () => {
    await checkScheme(b.browser, 'light');
  });

  test('every page has no axe-core violations in dark mode', async () => {
    await checkScheme(b.browser, 'dark');
  });

  test('the focus ring and form field borders have 3:1 contrast against the page, light and dark', async () => {
    for (const scheme of ['light', 'dark'] as const) {
      const ctx = await b.browser.newContext({ colorScheme: scheme });
      const page = await ctx.newPage();
      await page.goto(`${base}/web/login`);
      await page.getByLabel('User name').waitFor();
      // From the user name (focused on load) to the password, by keyboard: the ring :focus-visible draws.
      await page.keyboard.press('Tab');
      const s = (await page.evaluate(`(() => {
        const el = document.activeElement, card = el.closest('.card');
        const cs = getComputedStyle(el);
        return { tag: el.tagName, ring: cs.outlineColor, ringStyle: cs.outlineStyle, border: cs.borderTopColor,
          card: getComputedStyle(card).backgroundColor, page: getComputedStyle(document.body).backgroundColor };
      })()`)) as Record<string, string>;
      expect(s.tag).toBe('INPUT');
      expect(s.ringStyle).toBe('solid');
      for (const behind of [s.card!, s.page!]) {
        expect({ scheme, behind, ring: contrast(s.ring!, behind) >= 3 }).toEqual({ scheme, behind, ring: true });
        expect({ scheme, behind, border: contrast(s.border!, behind) >= 3 }).toEqual({ scheme, behind, border: true });
      }
      await ctx.close();
    }
  });
});
