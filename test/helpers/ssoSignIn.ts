import type { Page } from 'playwright-core';

/** Fills the OpenID Provider's development login page (any password) as `login`, and consents if asked. */
export async function oidcLogInHere(page: Page, login: string): Promise<void> {
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('any password');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  const consent = page.getByRole('button', { name: 'Continue' });
  await consent.waitFor({ timeout: 5000 }).then(
    () => consent.click(),
    () => undefined, // a grant the provider remembers needs no consent page
  );
}

/** Opens the provider URL a login printed and signs in there as `login`. */
export async function oidcSignIn(page: Page, url: string, login: string): Promise<void> {
  await page.goto(url);
  await oidcLogInHere(page, login);
}

/** Signs in on the GitHub stand-in's authorize page as `login`. */
export async function githubSignIn(page: Page, url: string, login: string): Promise<void> {
  await page.goto(url);
  await page.getByLabel('Login').fill(login);
  await page.getByRole('button', { name: 'Authorize' }).click();
}
