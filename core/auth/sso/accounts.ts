import type { Clock } from '../../clock.ts';
import { AlreadyExists } from '../../errors.ts';
import type { Emit } from '../authorizer.ts';
import { type LockStore, lockedError } from '../locks.ts';
import type { StoredUser, UserStore } from '../users.ts';
import type { SsoOutcome } from './identify.ts';
import { checkSubject } from './subjects.ts';

/** What SSO accounts read and write. */
export interface SsoAccountsDeps {
  users: UserStore;
  locks: Pick<LockStore, 'find'>;
  clock: Clock;
  emit: Emit;
}

/** The tp users SSO logins act as: each bound for good to one provider account of one connector. */
export class SsoAccounts {
  constructor(private readonly d: SsoAccountsDeps) {}

  /**
   * The user an account's name gives (undefined when it is new); throws unless the account may log in as it
   * (checkSubject) and it is not locked.
   */
  async mayLogIn(connector: string, o: SsoOutcome): Promise<StoredUser | undefined> {
    const existing = await this.d.users.find(o.username);
    checkSubject(o.username, existing, connector, o.subject);
    const lock = await this.d.locks.find({ user: o.username });
    if (lock) throw lockedError(`user "${o.username}"`, lock);
    return existing;
  }

  /**
   * Creates the SSO user on first login, bound to the provider account; later logins of that account replace its
   * roles with the mapping's. Another account deriving the same name is refused (checkSubject).
   */
  async upsertUser(connector: string, o: SsoOutcome): Promise<StoredUser> {
    const users = this.d.users;
    const update = () =>
      users.update(o.username, (u) => {
        checkSubject(o.username, u, connector, o.subject); // again, atomically with the write
        return { ...u, roles: o.roles };
      });
    if (await this.mayLogIn(connector, o)) return update();
    const user: StoredUser = {
      name: o.username,
      roles: o.roles,
      traits: { logins: [o.username] },
      createdAt: new Date(this.d.clock.now()).toISOString(),
      sso: connector,
      ssoSubject: o.subject,
    };
    try {
      await users.create(user);
    } catch (err) {
      if (!(err instanceof AlreadyExists)) throw err;
      return update(); // created meanwhile, by this account's other login or by another account
    }
    await this.d.emit({ type: 'user.create', user: o.username, target: o.username, roles: o.roles, connector });
    return user;
  }
}
