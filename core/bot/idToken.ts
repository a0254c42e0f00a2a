import { readFileSync } from 'node:fs';
import * as v from 'valibot';
import { BadParameter, Unavailable } from '../errors.ts';

/** How a bot proves itself at join: a join token (a secret), or its CI platform's ID token (secretless). */
export type JoinMethodKind = 'token' | 'github' | 'oidc';

const GithubAnswer = v.object({ value: v.pipe(v.string(), v.minLength(1)) });

/**
 * Asks the GitHub Actions runtime for an ID token with `audience` (the job needs `permissions: id-token: write`).
 * Throws BadParameter outside such a job and Unavailable when the runtime refuses or cannot be reached.
 */
export async function githubIdToken(audience: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const url = env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const bearer = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (!url || !bearer)
    throw new BadParameter(
      'ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN are not set: run in a GitHub Actions job with `permissions: id-token: write`',
    );
  const u = new URL(url);
  u.searchParams.set('audience', audience);
  let res: Response;
  try {
    res = await fetch(u, {
      headers: { authorization: `bearer ${bearer}`, accept: 'application/json' },
      signal: AbortSignal.timeout(15_000),
    });
  } catch (err) {
    throw new Unavailable(`cannot reach the GitHub Actions ID token endpoint: ${(err as Error).message}`);
  }
  if (!res.ok) throw new Unavailable(`the GitHub Actions ID token endpoint answered HTTP ${res.status}`);
  const body = v.safeParse(GithubAnswer, await res.json().catch(() => undefined));
  if (!body.success) throw new Unavailable('the GitHub Actions ID token endpoint answered without a token');
  return body.output.value;
}

/**
 * An OIDC issuer's ID token handed to the job (GitLab's `id_tokens:`): from `file` when given, else the environment
 * variable `envName` (default TP_ID_TOKEN). Throws BadParameter naming where it looked.
 */
export function oidcIdToken(o: { file?: string; envName?: string }, env: NodeJS.ProcessEnv = process.env): string {
  if (o.file) return readFileSync(o.file, 'utf8').trim();
  const name = o.envName ?? 'TP_ID_TOKEN';
  const t = env[name]?.trim();
  if (!t)
    throw new BadParameter(
      `no ID token: set ${name} (GitLab: id_tokens: ${name}: aud: <cluster>) or give --id-token-file`,
    );
  return t;
}
