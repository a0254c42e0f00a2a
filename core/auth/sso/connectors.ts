import * as v from 'valibot';
import type { PublicConnector } from '../../api/ssoSchemas.ts';
import type { Backend } from '../../backend/index.ts';
import { getDoc, listDocs } from '../../backend/json.ts';
import { AlreadyExists, BadParameter, NotFound } from '../../errors.ts';

/** GitHub team → roles: members of ORG/TEAM get ROLES. */
export interface TeamMapping {
  org: string;
  team: string;
  roles: string[];
}

/** OIDC claim → roles: an ID token whose CLAIM equals (or, for a list claim, contains) VALUE gets ROLES. */
export interface ClaimMapping {
  claim: string;
  value: string;
  roles: string[];
}

/** A single sign-on connector as stored. `clientSecret` never leaves the auth service. */
export type SsoConnector =
  | {
      kind: 'github';
      name: string;
      clientId: string;
      clientSecret: string;
      /** Web address of GitHub (https://github.com, or a GitHub Enterprise host). */
      endpointUrl: string;
      /** REST API base (https://api.github.com, or ENDPOINT/api/v3 for Enterprise). */
      apiUrl: string;
      teamsToRoles: TeamMapping[];
      createdAt: string;
    }
  | {
      kind: 'oidc';
      name: string;
      clientId: string;
      clientSecret: string;
      issuer: string;
      claimsToRoles: ClaimMapping[];
      /** Scopes asked for besides openid. */
      scopes: string[];
      /** Claim that names the user (default: preferred_username, then email, then sub). */
      usernameClaim?: string;
      createdAt: string;
    };

/** A connector as stored, checked when read (see core/backend/json.ts). */
const SsoConnectorSchema: v.GenericSchema<unknown, SsoConnector> = v.variant('kind', [
  v.looseObject({
    kind: v.literal('github'),
    name: v.string(),
    clientId: v.string(),
    clientSecret: v.string(),
    endpointUrl: v.string(),
    apiUrl: v.string(),
    teamsToRoles: v.array(v.looseObject({ org: v.string(), team: v.string(), roles: v.array(v.string()) })),
    createdAt: v.string(),
  }),
  v.looseObject({
    kind: v.literal('oidc'),
    name: v.string(),
    clientId: v.string(),
    clientSecret: v.string(),
    issuer: v.string(),
    claimsToRoles: v.array(v.looseObject({ claim: v.string(), value: v.string(), roles: v.array(v.string()) })),
    scopes: v.array(v.string()),
    usernameClaim: v.optional(v.string()),
    createdAt: v.string(),
  }),
]);

/** The public view of a connector. */
export function publicConnector(c: SsoConnector): PublicConnector {
  const { clientSecret, ...rest } = c;
  return { ...rest, hasSecret: !!clientSecret } as PublicConnector;
}

const key = (name: string) => `/sso_connectors/${name}`;

/**
 * Parses `ORG/TEAM=ROLE[,ROLE...][,ORG/TEAM=ROLE...]`: an item without `=` adds a role to the mapping before it.
 */
export function parseTeamsToRoles(spec: string): TeamMapping[] {
  const out: TeamMapping[] = [];
  for (const item of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)=([a-z0-9][a-z0-9_.-]*)$/.exec(item);
    if (m) out.push({ org: m[1]!, team: m[2]!, roles: [m[3]!] });
    else if (/^[a-z0-9][a-z0-9_.-]*$/.test(item) && out.length) out.at(-1)!.roles.push(item);
    else throw new BadParameter(`"${item}" is not ORG/TEAM=ROLE (e.g. acme/devs=access)`);
  }
  if (!out.length) throw new BadParameter('give at least one ORG/TEAM=ROLE mapping');
  return out;
}

/** Parses `CLAIM=VALUE=ROLE[,ROLE...][,CLAIM=VALUE=ROLE...]`, like parseTeamsToRoles. */
export function parseClaimsToRoles(spec: string): ClaimMapping[] {
  const out: ClaimMapping[] = [];
  for (const item of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^([A-Za-z0-9_.:-]+)=([^=]+)=([a-z0-9][a-z0-9_.-]*)$/.exec(item);
    if (m) out.push({ claim: m[1]!, value: m[2]!, roles: [m[3]!] });
    else if (/^[a-z0-9][a-z0-9_.-]*$/.test(item) && out.length) out.at(-1)!.roles.push(item);
    else throw new BadParameter(`"${item}" is not CLAIM=VALUE=ROLE (e.g. groups=admins=admin)`);
  }
  if (!out.length) throw new BadParameter('give at least one CLAIM=VALUE=ROLE mapping');
  return out;
}

/** An https URL, or http on a loopback address (test and development identity providers only). */
export function checkProviderUrl(what: string, raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch (err) {
    throw new BadParameter(`${what} "${raw}" is not a URL`, {}, { cause: err });
  }
  const loopback = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(u.hostname);
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && loopback))
    throw new BadParameter(`${what} must be https (plain http only on a loopback address): ${raw}`);
  return raw.replace(/\/+$/, '');
}

/** Connectors in the backend. */
export class ConnectorStore {
  constructor(private readonly b: Backend) {}

  /** Stores a new connector; AlreadyExists when the name is taken. */
  async create(c: SsoConnector): Promise<void> {
    await this.b.create({ key: key(c.name), value: JSON.stringify(c) }).catch((err: unknown) => {
      if (err instanceof AlreadyExists)
        throw new AlreadyExists(`SSO connector "${c.name}" exists (remove it first: tp sso rm ${c.name})`);
      throw err;
    });
  }

  /** The connector named `name`, or NotFound. */
  async get(name: string): Promise<SsoConnector> {
    const doc = await getDoc(this.b, key(name), SsoConnectorSchema);
    if (!doc) throw new NotFound(`no SSO connector "${name}" (see \`tp sso ls\`)`);
    return doc.value;
  }

  /** All connectors, by name. */
  async list(): Promise<SsoConnector[]> {
    return (await listDocs(this.b, '/sso_connectors/', SsoConnectorSchema)).sort((a, b) =>
      a.name.localeCompare(b.name),
    );
  }

  /** Deletes a connector; NotFound when there is none by that name. */
  async remove(name: string): Promise<void> {
    await this.b.delete(key(name)).catch((err: unknown) => {
      if (err instanceof NotFound) throw new NotFound(`no SSO connector "${name}"`);
      throw err;
    });
  }
}
