import { defineCommand } from 'citty';
import type { TokenRole } from '../core/api/schemas.ts';
import { caPin } from '../core/crypto/caPin.ts';
import { BadParameter, NotFound } from '../core/errors.ts';
import { allValues } from './lib/argv.ts';
import { action, adminArgs, adminAuth, durationArg, formatArg, listArg } from './lib/context.ts';
import { joinMethodAddArgs, joinMethodArg, parseAllowFlag, readFlagFile } from './lib/joinFlags.ts';
import { formatOf, print, table } from './lib/output.ts';
import { joinMethodView, tokenView } from './lib/outputViews.ts';

const isTokenRole = (r: string): r is TokenRole => r === 'node' || r === 'proxy' || r === 'bot';

const add = defineCommand({
  meta: {
    name: 'add',
    description:
      'Make a join token. A secret token is printed once; tp keeps only its hash. A GitHub/OIDC join method is\n' +
      'secretless: CI jobs prove themselves with their ID token, and the method name is what they pass as --token.\n' +
      'Examples:\n' +
      '  tp tokens add --type node --ttl 1h    then: tp agent start --token <token> --proxy HOST:PORT\n' +
      '  tp tokens add --type bot --bot deploy --join-method github --allow repository=org/app,ref=refs/heads/main\n' +
      '    then in the workflow (permissions: id-token: write): tp bot start --join-method github --token deploy-github ...',
  },
  args: {
    type: { type: 'string', default: 'node', description: 'node, proxy or bot (comma-separated for node,proxy)' },
    ttl: { type: 'string', default: '30m', description: 'How long a secret token is valid' },
    multi: { type: 'boolean', description: 'Allow many joins with a node/proxy token (default: single use)' },
    ...joinMethodAddArgs,
    ...adminArgs,
    ...formatArg,
  },
  run: action(async (args) => {
    const roles = listArg(args.type);
    if (!roles.length || !roles.every(isTokenRole)) throw new BadParameter('--type must be node, proxy or bot');
    const method = joinMethodArg(args['join-method']);
    const auth = adminAuth(args);
    const pin = caPin((await auth.getCa('tls')).tlsCerts[0]!);
    const fmt = formatOf(args.format);
    if (roles.includes('bot')) {
      if (roles.length > 1) throw new BadParameter('--type bot cannot be combined with node or proxy');
      if (!args.bot) throw new BadParameter('--type bot needs --bot NAME (see `tp bots ls`)');
      if (method === 'token') {
        const r = await auth.newBotToken(args.bot, durationArg('ttl', args.ttl));
        if (!r.record) throw new BadParameter('the auth server is too old to describe the token it made');
        const out = { token: r.token, ca_pin: pin, ...tokenView(r.record) };
        await print(
          fmt,
          'tokens add',
          out,
          () =>
            `${r.token}\n(id ${r.record!.id}, single-use token for bot ${args.bot}, expires ${out.expires})\n` +
            `on the machine: tp bot start --proxy PROXY:PORT --token ${r.token} --ca-pin ${pin} --out DIR`,
        );
        return;
      }
      const allow = allValues(args.allow).map(parseAllowFlag);
      if (!allow.length) throw new BadParameter(`--join-method ${method} needs at least one --allow FIELD=VALUE,...`);
      const m = await auth.addJoinMethod({
        name: args.name ?? `${args.bot}-${method}`,
        method,
        bot: args.bot,
        issuer: args['issuer-url'],
        audience: args.audience,
        jwks: args['jwks-file'] ? readFlagFile('--jwks-file', args['jwks-file']) : undefined,
        allow,
      });
      const out = { token: m.name, ca_pin: pin, ...joinMethodView(m) };
      await print(
        fmt,
        'tokens add',
        out,
        () =>
          `join method ${m.name}: ${method} ID tokens from ${m.issuer} for audience "${m.audience}", ${allow.length} rule(s)\n` +
          `in the job: tp bot start --join-method ${method} --token ${m.name} --proxy PROXY:PORT --ca-pin ${pin} --out DIR`,
      );
      return;
    }
    if (method !== 'token') throw new BadParameter(`--join-method ${method} is for --type bot`);
    const r = await auth.createToken({
      roles,
      uses: args.multi ? 'multi' : 'single',
      ttlMs: durationArg('ttl', args.ttl),
    });
    const out = { token: r.token, ca_pin: pin, ...tokenView(r.record) };
    await print(fmt, 'tokens add', out, () =>
      [
        r.token,
        `(id ${r.record.id}, ${r.record.uses}-use ${roles.join(',')} token, expires ${out.expires})`,
        roles.includes('node')
          ? `join an agent: tp agent start --proxy PROXY:PORT --token ${r.token} --ca-pin ${pin}`
          : '',
      ]
        .filter(Boolean)
        .join('\n'),
    );
  }),
});

const ls = defineCommand({
  meta: { name: 'ls', description: 'List join tokens (IDs only; token values are never stored) and join methods' },
  args: { ...adminArgs, ...formatArg },
  run: action(async (args) => {
    const auth = adminAuth(args);
    const [tokens, methods] = await Promise.all([auth.listTokens(), auth.listJoinMethods()]);
    const rows = [...tokens.map(tokenView), ...methods.map(joinMethodView)];
    await print(formatOf(args.format), 'tokens ls', rows, () =>
      table(
        rows.map((t) => ({
          ...t,
          roles: t.join_method ? `bot (${t.join_method})` : t.roles.join(','),
          expires: t.expires ?? 'never',
        })),
        ['id', 'roles', 'uses', 'used_by', 'expires'],
        'no join tokens',
      ),
    );
  }),
});

const rm = defineCommand({
  meta: { name: 'rm', description: 'Delete a join token by its value or ID, or a join method by its name' },
  args: {
    token: { type: 'positional', required: true, description: 'Token, token ID or join method name' },
    ...adminArgs,
  },
  run: action(async (args) => {
    const auth = adminAuth(args);
    try {
      await auth.deleteToken(args.token);
      process.stdout.write('token deleted\n');
    } catch (err) {
      if (!(err instanceof NotFound)) throw err;
      await auth.removeJoinMethod(args.token).catch((e: unknown) => {
        throw e instanceof NotFound ? err : e;
      });
      process.stdout.write('join method deleted\n');
    }
  }),
});

const test = defineCommand({
  meta: {
    name: 'test',
    description:
      'Show how a join method judges an ID token: signature, issuer, audience and validity, then each rule and\n' +
      'the claims that did not match (with their values, for admins).\n' +
      'Example: tp tokens test deploy-github --jwt token.jwt',
  },
  args: {
    name: { type: 'positional', required: true, description: 'The join method' },
    jwt: { type: 'string', required: true, description: 'File holding the ID token (a JWT)' },
    ...adminArgs,
    ...formatArg,
  },
  run: action(async (args) => {
    const r = await adminAuth(args).testJoinMethod(args.name, readFlagFile('--jwt', args.jwt).trim());
    const out = {
      token_ok: r.token.ok,
      failed_check: r.token.ok ? null : r.token.check,
      error: r.token.ok ? null : r.token.error,
      claims: r.claims ?? null,
      rules: r.rules.map((x) => ({
        rule: x.rule,
        passed: x.mismatched.length === 0,
        mismatched: x.mismatched.map((m) => ({ field: m.field, want: m.want, got: m.got ?? null })),
      })),
      passed_rule: r.passed ?? null,
    };
    await print(formatOf(args.format), 'tokens test', out, () =>
      [
        r.token.ok
          ? 'token: valid (signature, issuer, audience, validity)'
          : `token: REFUSED (${r.token.check}): ${r.token.error}`,
        ...out.rules.map((x) =>
          x.passed
            ? `rule ${x.rule}: matches`
            : `rule ${x.rule}: ${x.mismatched.map((m) => `${m.field} is ${JSON.stringify(m.got)}, want ${JSON.stringify(m.want)}`).join('; ')}`,
        ),
        out.passed_rule ? `result: joins (rule ${out.passed_rule})` : 'result: refused',
      ].join('\n'),
    );
    if (!out.passed_rule) process.exitCode = 1;
  }),
});

export default defineCommand({
  meta: { name: 'tokens', description: 'Manage join tokens and secretless (GitHub/OIDC) join methods' },
  subCommands: { add, ls, rm, test },
});
