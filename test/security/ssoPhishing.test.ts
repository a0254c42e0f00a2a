import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import * as v from 'valibot';
import { AuditEventSchema } from '../../core/api/schemas.ts';
import { ANSWER_PARAM, answerRedirect, newAnswerKey, openAnswer } from '../../core/auth/sso/answer.ts';
import { newClientKeys } from '../../core/client/login.ts';
import { haveChromium, startBrowser, type TestBrowser } from '../helpers/browser.ts';
import { tpSpawn } from '../helpers/cli.ts';
import { startOidcIdp, type TestIdp } from '../helpers/oidcIdp.ts';
import { type SshFixture, startSshFixture } from '../helpers/sshFixture.ts';
import { CONTINUE } from '../helpers/ssoCliLogin.ts';
import { oidcSignIn } from '../helpers/ssoSignIn.ts';

// Issue 15, finding 1: SSO login phishing in CLI mode. The attacker starts a command-line login with his own keys,
// sends the provider URL to a victim who is signed in at the provider, and once the victim's browser has passed
// the proxy's callback he collects the victim's certificates from the proxy. Now no route hands out a login's
// answer: it goes, sealed to the starting client's key, only in the browser's redirect to the loopback address of
// the machine the browser runs on, and only after the person confirmed on a page naming the cluster and client.
if (!haveChromium()) console.warn('SKIPPING the SSO phishing tests: /usr/bin/chromium is not installed');

let f: SshFixture;
let b: TestBrowser;
let idp: TestIdp;
let proxy: string;
const CLUSTER = 'test.cluster';
/** Where the attacker's login sends the browser: a loopback port, which on the victim's machine nobody serves. */
const ATTACKER_REDIRECT = 'http://127.0.0.1:9/cb';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const insecure = { tls: { rejectUnauthorized: false } } as RequestInit;

/** A request to the proxy from outside, as the attacker's script makes it (no certificate, no cookies). */
async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`https://${proxy}${path}`, {
    ...insecure,
    method,
    redirect: 'manual',
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, location: res.headers.get('location'), text: await res.text() };
}

/**
 * The attacker's start of a command-line login with keys of his own: in the old API's form (a secret hash to
 * collect the result with), else in the current one (a key to seal the answer to). Returns what he holds.
 */
async function attackerBegins(clientRedirect = ATTACKER_REDIRECT) {
  const keys = newClientKeys();
  const secret = randomBytes(32).toString('base64url');
  const answerKey = newAnswerKey();
  const common = {
    connector: 'idp',
    mode: 'cli',
    clientRedirect,
    sshPublicKey: keys.sshPublicKey,
    tlsPublicKey: keys.tlsPublicKey,
  };
  let r = await call('POST', '/webapi/sso/login', { ...common, secretHash: sha256(secret) });
  if (r.status !== 200) r = await call('POST', '/webapi/sso/login', { ...common, clientKey: answerKey.publicKey });
  expect(r.status).toBe(200);
  const { id, url } = JSON.parse(r.text) as { id: string; url: string };
  return { id, url, secret, answerKey };
}

/** Every way the attacker might ask the proxy for a finished login's certificates. */
async function attackerCollects(id: string, secret: string) {
  return [
    await call('POST', '/webapi/sso/result', { id, secret }),
    await call('POST', '/webapi/sso/redeem', { id, secret }),
    await call('GET', `/webapi/sso/result?id=${id}&secret=${secret}`),
    await call('POST', `/webapi/sso/confirm?id=${id}`, undefined, { origin: `https://${proxy}` }),
    await call('POST', `/webapi/sso/confirm?id=${id}&token=${secret}`, undefined, { origin: `https://${proxy}` }),
  ];
}

/** The confirmation page's login id and token, read from its Continue form. */
async function formOf(page: Page): Promise<{ id: string; token: string; action: string }> {
  const action = (await page
    .locator('form', { has: page.getByRole('button', { name: CONTINUE }) })
    .getAttribute('action'))!;
  const q = new URL(action, `https://${proxy}`).searchParams;
  return { id: q.get('id')!, token: q.get('token')!, action };
}

/**
 * Requests the browser made to loopback addresses other than the provider's (the only place a command-line
 * login's answer ever travels).
 */
function loopbackRequests(page: Page): string[] {
  const seen: string[] = [];
  page.on('request', (r) => {
    const u = r.url();
    if (/^http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(u) && !u.startsWith(idp.issuer)) seen.push(u);
  });
  return seen;
}

describe.skipIf(!haveChromium())('security: SSO logins answer only the client (or browser) that started them', () => {
  beforeAll(async () => {
    f = await startSshFixture([]);
    proxy = f.cluster.proxy.addr;
    const port = proxy.split(':')[1];
    await f.role('metadata: {name: sso-admin}\nspec:\n  allow: {rules: [{resources: ["*"], verbs: ["*"]}]}\n');
    idp = await startOidcIdp({
      clientId: 'tp-client',
      clientSecret: 'oidc-client-secret',
      redirectUris: [`https://127.0.0.1:${port}/webapi/sso/callback`],
      groups: { victim: ['admins'], olga: ['admins'], carl: ['admins'] },
    });
    const add = await f.admin(
      [
        'sso',
        'add',
        'oidc',
        '--name',
        'idp',
        '--issuer',
        idp.issuer,
        '--client-id',
        'tp-client',
        '--client-secret-stdin',
        '--claims-to-roles',
        'groups=admins=sso-admin',
        '--scopes',
        'email,profile,groups',
      ],
      'oidc-client-secret\n',
    );
    expect(add.code).toBe(0);
    b = await startBrowser(proxy);
  });
  afterAll(async () => {
    await b?.close();
    await idp?.close();
    await f?.close();
  });

  test("the attacker's own CLI login, finished by the victim's browser, gives him no certificate by any route", async () => {
    const attack = await attackerBegins();
    const ctx = await b.browser.newContext();
    try {
      const page = await ctx.newPage();
      const loopback = loopbackRequests(page);
      await oidcSignIn(page, attack.url, 'victim');
      // Even if the victim is talked into pressing Continue, the answer goes to HIS machine's loopback.
      const button = page.getByRole('button', { name: CONTINUE });
      const asked = await button.waitFor({ timeout: 5000 }).then(
        () => true,
        () => false, // no confirmation page (as before the fix): the browser went on by itself
      );
      if (asked) {
        const sent = page.waitForRequest((r) => r.url().startsWith(ATTACKER_REDIRECT));
        await button.click();
        await sent;
        expect(loopback).toHaveLength(1);
        expect(loopback[0]).toStartWith(`${ATTACKER_REDIRECT}?${ANSWER_PARAM}=`);
      } else await page.waitForLoadState();
      for (const r of await attackerCollects(attack.id, attack.secret)) {
        expect(r.status).not.toBe(200);
        expect(r.text).not.toContain('sshCert');
        expect(r.location ?? '').not.toContain(ANSWER_PARAM);
      }
      expect((await call('POST', '/webapi/sso/result', { id: attack.id, secret: attack.secret })).status).toBe(404);
      // The sealed answer left only in the victim's browser, toward the victim's own loopback address.
      expect(loopback.every((u) => u.startsWith(ATTACKER_REDIRECT))).toBe(true);
    } finally {
      await ctx.close();
    }
  });

  test('a second client with its own key cannot collect, or read, a login another browser finished', async () => {
    const run = tpSpawn(['login', '--auth', 'idp', '--proxy', proxy, '--insecure', '--browser', 'none'], {
      env: { TP_HOME: mkdtempSync(join(tmpdir(), 'tp-sso-phish-')) },
    });
    const url = (await run.stderrMatch(/Open this URL to log in with \S+:\n\s+(\S+)/))[1]!;
    const ctx = await b.browser.newContext();
    try {
      const page = await ctx.newPage();
      const loopback = loopbackRequests(page);
      await oidcSignIn(page, url, 'olga');
      await page.getByRole('button', { name: CONTINUE }).waitFor();
      const { id, token } = await formOf(page);
      // Client B knows the login's id (even its confirmation token, read off the page) and holds a key and a
      // secret of its own.
      const other = newAnswerKey();
      for (const r of await attackerCollects(id, 'client-b-secret')) expect(r.text).not.toContain('sshCert');
      const confirm = () =>
        call('POST', `/webapi/sso/confirm?id=${id}&token=${token}`, undefined, { origin: `https://${proxy}` });
      // Two at once: the login is confirmed once, whoever asks first.
      const both = await Promise.all([confirm(), confirm()]);
      expect(both.map((r) => r.status).sort()).toEqual([303, 403]);
      const stolen = both.find((r) => r.status === 303)!;
      const to = new URL(stolen.location!);
      expect(to.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const sealed = to.searchParams.get(ANSWER_PARAM)!;
      expect(() => openAnswer(other, id, sealed)).toThrow('not for this key and context');
      expect(sealed).not.toContain('ssh-ed25519');
      // Answers B makes up (sealed to its own key, or the real one altered) are ignored by A, which keeps waiting.
      const forged = answerRedirect(to.toString(), other.publicKey, id, {
        ok: false,
        error: { code: 'x', message: 'x' },
      });
      expect((await fetch(forged)).status).toBe(400);
      const altered = new URL(to);
      altered.searchParams.set(ANSWER_PARAM, `${sealed.slice(0, -4)}${sealed.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`);
      expect((await fetch(altered)).status).toBe(400);
      // The browser's own Continue now finds the confirmation used: confirmed once only.
      await page.getByRole('button', { name: CONTINUE }).click();
      await page.waitForLoadState();
      expect(await page.locator('body').textContent()).toContain('not waiting for confirmation');
      expect(loopback).toEqual([]);
      // Only A, at its own listener, can open the answer: delivered there, A is logged in.
      expect((await fetch(to)).status).toBe(200);
      const result = await run.done();
      expect(result.stdout).toContain(`logged in to ${CLUSTER} as olga`);
    } finally {
      await ctx.close();
    }
  });

  test('the confirmation page names the cluster, the client and the user, and nothing reaches the client before the click', async () => {
    const run = tpSpawn(['login', '--auth', 'idp', '--proxy', proxy, '--insecure', '--browser', 'none'], {
      env: { TP_HOME: mkdtempSync(join(tmpdir(), 'tp-sso-phish-')) },
    });
    const url = (await run.stderrMatch(/Open this URL to log in with \S+:\n\s+(\S+)/))[1]!;
    const ctx = await b.browser.newContext();
    try {
      const page = await ctx.newPage();
      const loopback = loopbackRequests(page);
      await oidcSignIn(page, url, 'carl');
      const button = page.getByRole('button', { name: CONTINUE });
      await button.waitFor();
      const text = (await page.locator('body').textContent())!;
      expect(text).toContain(`Sign in to ${CLUSTER} from the command line?`);
      expect(text).toContain('tp command-line client');
      expect(text).toMatch(/waiting on this computer at http:\/\/127\.0\.0\.1:\d+/);
      expect(await page.getByTestId('sso-user').textContent()).toBe('carl');
      expect(text).toContain('If someone sent you this link, cancel');
      expect(loopback).toEqual([]);
      // The answer moves only on a POST from this page: a GET, a cross-site POST or a wrong token do nothing.
      const { id, token } = await formOf(page);
      expect((await call('GET', `/webapi/sso/confirm?id=${id}&token=${token}`)).status).toBe(404);
      const crossSite = await call('POST', `/webapi/sso/confirm?id=${id}&token=${token}`, undefined, {
        origin: 'https://evil.example',
      });
      expect(crossSite.status).toBe(403);
      expect((await call('POST', `/webapi/sso/confirm?id=${id}&token=${token}`)).status).toBe(403);
      const wrong = await call('POST', `/webapi/sso/confirm?id=${id}&token=x${token}`, undefined, {
        origin: `https://${proxy}`,
      });
      expect(wrong.text).toContain('does not belong to the sign-in');
      await button.click();
      const result = await run.done();
      expect(result.stdout).toContain(`logged in to ${CLUSTER} as carl`);
      expect(loopback).toHaveLength(1);
      expect(loopback[0]).toContain(`?${ANSWER_PARAM}=`);
    } finally {
      await ctx.close();
    }
  });

  test('Cancel on the confirmation page ends the login: nothing is sent, it cannot be confirmed later', async () => {
    const attack = await attackerBegins();
    const ctx = await b.browser.newContext();
    try {
      const page = await ctx.newPage();
      const loopback = loopbackRequests(page);
      await oidcSignIn(page, attack.url, 'victim');
      await page.getByRole('button', { name: CONTINUE }).waitFor();
      const { id, token } = await formOf(page);
      await page.getByRole('button', { name: 'Cancel' }).click();
      await page.getByText('Sign-in cancelled').waitFor();
      const later = await call('POST', `/webapi/sso/confirm?id=${id}&token=${token}`, undefined, {
        origin: `https://${proxy}`,
      });
      expect(later.status).not.toBe(303);
      expect(later.text).toContain('not waiting for confirmation');
      expect(loopback).toEqual([]);
      const events = await f.cluster.auth.admin.get(v.array(AuditEventSchema), '/v1/audit/events?type=sso.login');
      expect(events.some((e) => e.success === false && String(e.error).includes('cancelled'))).toBe(true);
    } finally {
      await ctx.close();
    }
  });

  test("web UI: a sign-in the attacker's browser started does not complete in the victim's (binding cookie)", async () => {
    const started = await call('GET', '/webapi/sso/web/idp');
    expect(started.status).toBe(302);
    const ctx = await b.browser.newContext();
    try {
      const page = await ctx.newPage();
      await oidcSignIn(page, started.location!, 'victim');
      await page.getByText('this login was started in another browser').waitFor();
      expect((await ctx.cookies()).map((c) => c.name)).not.toContain('__Host-tp_session');
    } finally {
      await ctx.close();
    }
  });

  test('a client redirect that is not a loopback http URL is refused', async () => {
    const key = newAnswerKey();
    for (const clientRedirect of [
      'https://evil.example/cb',
      'http://evil.example:9/cb',
      'http://10.0.0.1:9/cb',
      'http://127.0.0.1.evil.example/cb',
      'http://evil@127.0.0.1:9/cb',
      'https://127.0.0.1:9/cb',
    ]) {
      const r = await call('POST', '/webapi/sso/login', {
        connector: 'idp',
        mode: 'cli',
        clientRedirect,
        clientKey: key.publicKey,
        ...(({ sshPublicKey, tlsPublicKey }) => ({ sshPublicKey, tlsPublicKey }))(newClientKeys()),
      });
      expect(r.status).toBe(400);
      expect(r.text).toContain('the client redirect must be an http URL on a loopback address');
    }
  });
});
