import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { parseHostPort } from '../../core/net/index.ts';

/** Debian's Chromium, which `.ci/run` installs. */
export const CHROMIUM = process.env.TP_CHROMIUM ?? '/usr/bin/chromium';
/** Where screenshots go (kept by CI as artifacts). */
export const ARTIFACTS = join(import.meta.dir, '..', '..', 'artifacts', 'screenshots');

/** Base64 SHA-256 of the proxy certificate's public key, for Chromium's --ignore-certificate-errors-spki-list. */
async function proxySpki(addr: string): Promise<string> {
  const [host, port] = parseHostPort(addr);
  const raw = await new Promise<Buffer>((resolve, reject) => {
    const s = connect({ host, port, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => {
      resolve(s.getPeerCertificate().raw);
      s.end();
    });
    s.once('error', reject);
  });
  const spki = new X509Certificate(raw).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

/** A headless Chromium whose pages trust the test proxy as a real certificate (so WebAuthn works). */
export interface TestBrowser extends AsyncDisposable {
  browser: Browser;
  context: BrowserContext;
  /** Console errors and uncaught page errors seen so far, from every page of the context. */
  errors: string[];
  /** Returns the errors seen so far and forgets them (after a step that provokes refusals on purpose). */
  takeErrors(): string[];
  newPage(): Promise<Page>;
  /** Saves a full-page screenshot as artifacts/screenshots/NAME.png. */
  screenshot(page: Page, name: string): Promise<string>;
  close(): Promise<void>;
}

/** True when the Chromium binary is installed. */
export const haveChromium = () => existsSync(CHROMIUM);

/** Launches Chromium with the flags the house style names (and `extraArgs`), trusting only the proxy's key. */
export async function startBrowser(proxyAddr: string, extraArgs: string[] = []): Promise<TestBrowser> {
  const spki = await proxySpki(proxyAddr);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      `--ignore-certificate-errors-spki-list=${spki}`,
      ...extraArgs,
    ],
  });
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  const errors: string[] = [];
  const newPage = async () => {
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`${m.text()} [${m.location().url}]`);
    });
    page.on('pageerror', (e) => errors.push(`${page.url()}: uncaught ${e.message}`));
    return page;
  };
  const close = async () => {
    await context.close();
    await browser.close();
  };
  return {
    browser,
    context,
    errors,
    takeErrors: () => errors.splice(0),
    newPage,
    screenshot: async (page, name) => {
      mkdirSync(ARTIFACTS, { recursive: true });
      const path = join(ARTIFACTS, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
