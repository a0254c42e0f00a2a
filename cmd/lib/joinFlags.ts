import { readFileSync } from 'node:fs';
import { type AllowRule, CLAIM_FIELDS, type ClaimField } from '../../core/api/joinMethodSchemas.ts';
import type { JoinMethodKind } from '../../core/bot/idToken.ts';
import { BadParameter } from '../../core/errors.ts';
import { repeatable } from './argv.ts';

/** Parses `--allow repository=org/repo,ref=refs/heads/main` into a rule; BadParameter names the bad part. */
export function parseAllowFlag(text: string): AllowRule {
  const rule: AllowRule = {};
  for (const part of text.split(',').filter(Boolean)) {
    const eq = part.indexOf('=');
    const field = part.slice(0, eq) as ClaimField;
    if (eq <= 0 || !CLAIM_FIELDS.includes(field))
      throw new BadParameter(`--allow "${part}": use FIELD=VALUE with FIELD one of ${CLAIM_FIELDS.join(', ')}`);
    if (rule[field] !== undefined) throw new BadParameter(`--allow "${text}" names ${field} twice`);
    rule[field] = part.slice(eq + 1);
  }
  if (!Object.keys(rule).length) throw new BadParameter('--allow needs at least one FIELD=VALUE');
  return rule;
}

/** The flags `tp bot start` and `tp ci exec` take to join without a secret. */
export const idTokenArgs = {
  'join-method': {
    type: 'string',
    description: 'token (a secret from `tp bots add`), github (GitHub Actions ID token) or oidc (e.g. GitLab)',
  },
  'id-token-file': {
    type: 'string',
    description: 'With --join-method oidc: read the ID token here (default env TP_ID_TOKEN)',
  },
} as const;

/** The join method a command was given (default: a secret token). */
export function joinMethodArg(value: string | undefined): JoinMethodKind {
  const m = value ?? 'token';
  if (m !== 'token' && m !== 'github' && m !== 'oidc')
    throw new BadParameter(`--join-method must be token, github or oidc (got "${m}")`);
  return m;
}

/** Where the ID token comes from for `method`: the GitHub Actions runtime, or a file/env variable for OIDC. */
export async function idTokenSource(
  method: JoinMethodKind,
  file: string | undefined,
): Promise<((cluster: string) => Promise<string>) | undefined> {
  if (method === 'token') return undefined;
  const { githubIdToken, oidcIdToken } = await import('../../core/bot/idToken.ts');
  if (method === 'github') return (cluster) => githubIdToken(cluster);
  return async () => oidcIdToken({ file });
}

/** The flags of `tp tokens add` for secretless join methods. */
export const joinMethodAddArgs = {
  bot: { type: 'string', description: 'The bot a bot token or join method joins as (`tp bots ls`)' },
  'join-method': { type: 'string', default: 'token', description: 'token (a secret), github or oidc (secretless)' },
  allow: repeatable({
    type: 'string',
    description: `Claims a CI job must have, FIELD=VALUE,... (repeatable; rules OR'd, fields AND'd). Fields: ${CLAIM_FIELDS.join(', ')}`,
  }),
  'issuer-url': { type: 'string', description: "The ID tokens' issuer (default GitHub's; required for oidc)" },
  audience: { type: 'string', description: 'The audience tokens must name (default: the cluster name)' },
  'jwks-file': { type: 'string', description: 'A static JWKS for auth servers that cannot reach the issuer' },
  name: { type: 'string', description: "The join method's name, what jobs pass as --token (default BOT-METHOD)" },
} as const;

/** The contents of a file named by a flag, with a clear error when it cannot be read. */
export function readFlagFile(flag: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new BadParameter(`${flag} ${path}: ${(err as Error).message}`, {}, { cause: err });
  }
}
