import { defineCommand } from 'citty';
import type { PublicConnector } from '../core/api/ssoSchemas.ts';
import { parseClaimsToRoles, parseTeamsToRoles } from '../core/auth/sso/connectors.ts';
import { loadProfile } from '../core/client/profile.ts';
import { ssoLogin } from '../core/client/ssoLogin.ts';
import { BadParameter } from '../core/errors.ts';
import { openBrowser } from './lib/browser.ts';
import { action, adminArgs, adminAuth, formatArg, listArg, readStdin } from './lib/context.ts';
import { formatOf, print, table } from './lib/output.ts';
import { connectorView } from './lib/outputViews.ts';

async function secretFromStdin(flag: boolean | undefined): Promise<string> {
  if (!flag) throw new BadParameter('pass the client secret on stdin with --client-secret-stdin (never as a flag)');
  const secret = (await readStdin()).trim();
  if (!secret) throw new BadParameter('--client-secret-stdin: nothing on stdin');
  return secret;
}

async function created(
  format: string | undefined,
  kind: 'sso add github' | 'sso add oidc',
  c: PublicConnector,
  callback: string,
): Promise<void> {
  await print(formatOf(format), kind, connectorView(c), () =>
    [
      `SSO connector "${c.name}" (${c.kind}) added`,
      `register this callback URL with the provider: ${callback}`,
      `users log in with: tp login --auth ${c.name}   (or the "${c.name}" button on the web login page)`,
    ].join('\n'),
  );
}

const callbackHint = (proxy: string | undefined) =>
  `https://${proxy ?? loadProfile()?.proxy ?? 'PROXY_PUBLIC_ADDR'}/webapi/sso/callback`;

const common = {
  name: { type: 'string', required: true, description: 'Connector name (users pick it with tp login --auth NAME)' },
  'client-id': { type: 'string', required: true, description: 'OAuth2 client ID from the provider' },
  'client-secret-stdin': { type: 'boolean', description: 'Read the client secret from stdin' },
  proxy: { type: 'string', description: "Proxy public address, to print the callback URL (default: your profile's)" },
  ...adminArgs,
  ...formatArg,
} as const;

const addGithub = defineCommand({
  meta: {
    name: 'github',
    description:
      'Add a GitHub (or GitHub Enterprise) OAuth app as a connector. Members of the mapped teams log in with the\n' +
      'roles the mapping gives; anyone else is refused.\n' +
      'Example: echo "$SECRET" | tp sso add github --name gh --client-id Iv1.abc --client-secret-stdin \\\n' +
      '           --teams-to-roles acme/devs=access,acme/sre=access,admin',
  },
  args: {
    ...common,
    'teams-to-roles': {
      type: 'string',
      required: true,
      description: 'ORG/TEAM=ROLE[,ROLE..][,ORG/TEAM=ROLE..] (an item without = adds a role to the one before)',
    },
    'endpoint-url': { type: 'string', description: 'GitHub Enterprise web address (default https://github.com)' },
    'api-url': { type: 'string', description: 'API base (default https://api.github.com, or ENDPOINT/api/v3)' },
  },
  run: action(async (args) => {
    const teamsToRoles = parseTeamsToRoles(args['teams-to-roles']);
    const endpointUrl = (args['endpoint-url'] ?? 'https://github.com').replace(/\/+$/, '');
    const apiUrl =
      args['api-url'] ?? (endpointUrl === 'https://github.com' ? 'https://api.github.com' : `${endpointUrl}/api/v3`);
    const c = await adminAuth(args).createConnector({
      kind: 'github',
      name: args.name,
      clientId: args['client-id'],
      clientSecret: await secretFromStdin(args['client-secret-stdin']),
      endpointUrl,
      apiUrl,
      teamsToRoles,
    });
    await created(args.format, 'sso add github', c, callbackHint(args.proxy));
  }),
});

const addOidc = defineCommand({
  meta: {
    name: 'oidc',
    description:
      'Add an OpenID Connect provider (Okta, Auth0, Keycloak, Google, Dex, ...) as a connector. ID tokens are\n' +
      "verified against the provider's published keys; the claims mapping gives roles.\n" +
      'Example: echo "$SECRET" | tp sso add oidc --name okta --issuer https://acme.okta.com --client-id 0oa1 \\\n' +
      '           --client-secret-stdin --claims-to-roles groups=admins=admin,groups=devs=access',
  },
  args: {
    ...common,
    issuer: { type: 'string', required: true, description: 'Issuer URL (its /.well-known/openid-configuration)' },
    'claims-to-roles': {
      type: 'string',
      required: true,
      description: 'CLAIM=VALUE=ROLE[,ROLE..][,CLAIM=VALUE=ROLE..]; a list claim matches when it contains VALUE',
    },
    scopes: { type: 'string', description: 'Scopes besides openid, comma-separated (default: email,profile)' },
    'username-claim': {
      type: 'string',
      description:
        'Claim naming the user (default: preferred_username, then a verified email, then sub); its value must be a\n' +
        'valid tp user name (an e-mail names the user by its local part)',
    },
  },
  run: action(async (args) => {
    const c = await adminAuth(args).createConnector({
      kind: 'oidc',
      name: args.name,
      clientId: args['client-id'],
      clientSecret: await secretFromStdin(args['client-secret-stdin']),
      issuer: args.issuer.replace(/\/+$/, ''),
      claimsToRoles: parseClaimsToRoles(args['claims-to-roles']),
      scopes: args.scopes ? listArg(args.scopes) : undefined,
      usernameClaim: args['username-claim'],
    });
    await created(args.format, 'sso add oidc', c, callbackHint(args.proxy));
  }),
});

const add = defineCommand({
  meta: { name: 'add', description: 'Add a single sign-on connector: tp sso add github|oidc --help' },
  subCommands: { github: addGithub, oidc: addOidc },
});

const ls = defineCommand({
  meta: { name: 'ls', description: 'List single sign-on connectors (secrets are never shown)' },
  args: { ...adminArgs, ...formatArg },
  run: action(async (args) => {
    const list = await adminAuth(args).listConnectors();
    await print(formatOf(args.format), 'sso ls', list.map(connectorView), () =>
      table(
        list.map((c) => ({
          name: c.name,
          kind: c.kind,
          provider: c.kind === 'github' ? c.endpointUrl : c.issuer,
          'client id': c.clientId,
          mapping:
            c.kind === 'github'
              ? c.teamsToRoles.map((m) => `${m.org}/${m.team}=${m.roles.join('+')}`).join(', ')
              : c.claimsToRoles.map((m) => `${m.claim}=${m.value}=${m.roles.join('+')}`).join(', '),
        })),
        ['name', 'kind', 'provider', 'client id', 'mapping'],
        'no connectors: add one with `tp sso add github --help` or `tp sso add oidc --help`',
      ),
    );
  }),
});

const rm = defineCommand({
  meta: { name: 'rm', description: 'Remove a connector (its users stay, but can no longer log in through it)' },
  args: { name: { type: 'positional', required: true, description: 'Connector name' }, ...adminArgs },
  run: action(async (args) => {
    await adminAuth(args).removeConnector(args.name);
    process.stdout.write(`SSO connector "${args.name}" removed\n`);
  }),
});

const test = defineCommand({
  meta: {
    name: 'test',
    description:
      'Check a connector: the provider is reachable (OIDC discovery and keys), then, with a proxy, sign in once in\n' +
      'a browser and see what the provider returns and which roles the mapping gives. Creates no user, no certs.',
  },
  args: {
    name: { type: 'positional', required: true, description: 'Connector name' },
    proxy: { type: 'string', description: "Proxy address for the browser check (default: your profile's)" },
    'provider-only': { type: 'boolean', description: 'Only check that the provider is reachable' },
    browser: { type: 'string', description: '"none" only prints the URL' },
    insecure: { type: 'boolean', description: "Do not verify the proxy's TLS certificate" },
    ...adminArgs,
    ...formatArg,
  },
  run: action(async (args) => {
    const check = await adminAuth(args).checkConnector(args.name);
    const proxy = args.proxy ?? loadProfile()?.proxy;
    if (args['provider-only'] || !proxy) {
      const providerOnly = { provider: check.detail, user: null, roles: null, identity: null, subject: null };
      await print(formatOf(args.format), 'sso test', providerOnly, () =>
        [`provider: ${check.detail}`, proxy ? '' : 'give --proxy HOST:PORT to also sign in once and see the mapping']
          .filter(Boolean)
          .join('\n'),
      );
      return;
    }
    const { outcome } = await ssoLogin({
      proxy,
      connector: args.name,
      mode: 'test',
      trust: { insecure: args.insecure },
      onUrl: (url) => {
        openBrowser(url, args.browser);
        process.stderr.write(
          `Sign in once at this URL to test "${args.name}":\n  ${url}\nthen confirm on the page that names the cluster\n`,
        );
      },
    });
    const tested = {
      provider: check.detail,
      user: outcome.username,
      roles: outcome.roles,
      identity: outcome.identity,
      subject: outcome.subject,
    };
    await print(formatOf(args.format), 'sso test', tested, () =>
      [
        `provider: ${check.detail}`,
        `user:     ${outcome.username}`,
        `roles:    ${outcome.roles.join(', ')}`,
        `identity: ${JSON.stringify(outcome.identity)}`,
      ].join('\n'),
    );
  }),
});

export default defineCommand({
  meta: {
    name: 'sso',
    description:
      'Single sign-on connectors: GitHub (OAuth2) and any OpenID Connect provider. Users are created on their first\n' +
      'SSO login and get their roles from the connector mapping on every login.',
  },
  subCommands: { add, ls, rm, test },
});
