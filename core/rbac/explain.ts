import { allowedLogins, expandTemplate, type Traits } from './access.ts';
import type { Role } from './schema.ts';

/** One login a user was given that their roles do not grant, and why. */
export interface LoginRefusal {
  login: string;
  /** The role whose deny list names the login (or `*`); absent when no role allows it in the first place. */
  deniedBy?: string;
}

/**
 * The logins of a user's `logins` trait that their roles do not grant (deny wins), each with the role that denies
 * it, in the order the trait lists them: what `tp users add` warns about and the web UI explains.
 */
export function loginRefusals(roles: Role[], traits: Traits): LoginRefusal[] {
  const granted = new Set(allowedLogins(roles, traits));
  return [...new Set(traits.logins ?? [])]
    .filter((login) => !granted.has(login))
    .map((login) => {
      const denier = roles.find((r) =>
        (r.spec.deny.logins ?? []).flatMap((l) => expandTemplate(l, traits)).some((l) => l === login || l === '*'),
      );
      return denier ? { login, deniedBy: denier.metadata.name } : { login };
    });
}

/** A sentence for people saying why the roles grant none of the user's logins (for an empty "Log in as" list). */
export function noLoginsSentence(roles: Role[], traits: Traits): string {
  const names = roles.map((r) => r.metadata.name).join(', ') || 'none';
  const why = loginRefusals(roles, traits).map((r) =>
    r.deniedBy ? `${r.login} is denied by role ${r.deniedBy}` : `no role grants ${r.login}`,
  );
  const base = `Your roles (${names}) grant no login on these servers`;
  return why.length > 0
    ? `${base}: ${why.join('; ')}. Ask an admin for a login your roles allow.`
    : `${base}. Ask an admin for a login or a role that grants one.`;
}
