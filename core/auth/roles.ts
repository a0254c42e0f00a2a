import type { Backend } from '../backend/index.ts';
import { getDoc, listDocs } from '../backend/json.ts';
import { AlreadyExists, NotFound } from '../errors.ts';
import type { Role } from '../rbac/index.ts';
import { RoleSchema } from '../rbac/schema.ts';

const key = (name: string) => `/roles/${name}`;

/** Roles in the backend; the one place that knows their keys. */
export class RoleStore {
  constructor(private readonly b: Backend) {}

  /** Every role. */
  async list(): Promise<Role[]> {
    return listDocs(this.b, '/roles/', RoleSchema);
  }

  /** The role named `name`, or NotFound. */
  async get(name: string): Promise<Role> {
    const doc = await getDoc(this.b, key(name), RoleSchema);
    if (!doc) throw new NotFound(`role "${name}" not found`);
    return doc.value;
  }

  /** Role documents by name, in the order given; unknown names are skipped. */
  async rolesOf(names: string[]): Promise<Role[]> {
    const roles: Role[] = [];
    for (const n of names) {
      const doc = await getDoc(this.b, key(n), RoleSchema);
      if (doc) roles.push(doc.value);
    }
    return roles;
  }

  /** Stores a role: replaces one of the same name when `replace` is set, else AlreadyExists if the name is taken. */
  async put(role: Role, replace: boolean): Promise<void> {
    const item = { key: key(role.metadata.name), value: JSON.stringify(role) };
    if (replace) {
      await this.b.put(item);
      return;
    }
    await this.b.create(item).catch((err: unknown) => {
      if (err instanceof AlreadyExists)
        throw new AlreadyExists(`role "${role.metadata.name}" already exists (use --force to replace it)`);
      throw err;
    });
  }

  /** Deletes a role, or NotFound. */
  async remove(name: string): Promise<void> {
    await this.b.delete(key(name)).catch((err: unknown) => {
      if (err instanceof NotFound) throw new NotFound(`role "${name}" not found`);
      throw err;
    });
  }
}
