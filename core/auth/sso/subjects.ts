import { AccessDenied } from '../../errors.ts';

/** The provider account behind an SSO user: the issuer (OIDC `iss`, GitHub's API URL) and its stable subject id. */
export interface SsoSubject {
  issuer: string;
  /** OIDC `sub`; GitHub's numeric user id (a login can be renamed and reused, the id cannot). */
  subject: string;
}

/** What a stored user records of the SSO account it belongs to (a local user has neither). */
export interface SsoOwner {
  sso?: string;
  ssoSubject?: SsoSubject;
}

/**
 * Throws AccessDenied unless a login of `subject` through `connector` may act as the user `existing` (absent: it
 * will be created for that subject). A user belongs to one connector and one subject for good: a different
 * account deriving the same name is refused, never merged.
 */
export function checkSubject(
  name: string,
  existing: SsoOwner | undefined,
  connector: string,
  subject: SsoSubject,
): void {
  if (!existing) return;
  if (existing.sso !== connector)
    throw new AccessDenied(
      existing.sso
        ? `user "${name}" belongs to SSO connector "${existing.sso}", not "${connector}"`
        : `a local user named "${name}" exists; single sign-on does not log in as a local user`,
    );
  const owner = existing.ssoSubject;
  if (!owner)
    throw new AccessDenied(
      `user "${name}" was created by connector "${connector}" without a record of its provider account; an administrator must remove it (\`tp users rm ${name}\`, then the lock that leaves on the name, see \`tp locks ls\`) so its owner's next login creates it again`,
    );
  if (owner.issuer !== subject.issuer || owner.subject !== subject.subject)
    throw new AccessDenied(
      `the user name "${name}" belongs to another account of connector "${connector}"; this sign-in (subject "${subject.subject}") is refused and changes nothing (the connector's username claim must name each account uniquely)`,
    );
}
