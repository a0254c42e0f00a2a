import * as v from 'valibot';
import { type JoinMethod, JoinMethodSchema } from '../../api/joinMethodSchemas.ts';
import type { Backend } from '../../backend/index.ts';
import { AlreadyExists, NotFound, TpError } from '../../errors.ts';

const key = (name: string) => `/join_methods/${name}`;

function parsed(k: string, json: string): JoinMethod {
  const r = v.safeParse(JoinMethodSchema, JSON.parse(json));
  if (!r.success) throw new TpError(`stored join method ${k} is malformed: ${r.issues[0].message}`);
  return r.output;
}

/** Secretless join methods (GitHub Actions, OIDC) by name; the one place that knows their keys. */
export class JoinMethodStore {
  constructor(private readonly b: Backend) {}

  /** Stores a new join method; AlreadyExists when the name is taken. */
  async create(m: JoinMethod): Promise<void> {
    await this.b.create({ key: key(m.name), value: JSON.stringify(m) }).catch((err: unknown) => {
      if (err instanceof AlreadyExists) throw new AlreadyExists(`a join method "${m.name}" already exists`);
      throw err;
    });
  }

  /** The join method named `name`, or NotFound. */
  async get(name: string): Promise<JoinMethod> {
    const item = await this.b.get(key(name));
    if (!item) throw new NotFound(`no join method "${name}" (see \`tp tokens ls\`)`);
    return parsed(item.key, item.value);
  }

  /** Every join method. */
  async list(): Promise<JoinMethod[]> {
    return (await this.b.range('/join_methods/')).map((i) => parsed(i.key, i.value));
  }

  /** Deletes the join method named `name`; NotFound when there is none. */
  async remove(name: string): Promise<void> {
    await this.b.delete(key(name)).catch((err: unknown) => {
      if (err instanceof NotFound) throw new NotFound(`no join method "${name}"`);
      throw err;
    });
  }
}
