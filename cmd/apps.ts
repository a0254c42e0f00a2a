// `tp apps`: the web apps your roles reach, and certificates for reaching one with curl and scripts.
import { defineCommand } from 'citty';
import {
  type AppCertFiles,
  type AppCredentials,
  appCertFiles,
  curlLine,
  profileAppsDir,
  readValidAppCert,
  removeAppCert,
  requestAppCert,
  storedApps,
  writeAppCert,
} from '../core/client/appCerts.ts';
import { appPublicAddr, appUrl, findApp, listApps, proxyPublicAddr, userAuthApi } from '../core/client/appResources.ts';
import { loadProfile, requireProfile } from '../core/client/profile.ts';
import { BadParameter, NotFound } from '../core/errors.ts';
import { action, durationArg } from './lib/context.ts';
import { formatArg, formatOf, print, table } from './lib/output.ts';

const nameArg = { type: 'positional', required: true, description: 'The app, as tp apps ls names it' } as const;

const ls = defineCommand({
  meta: {
    name: 'ls',
    description:
      'List the web apps your roles let you reach, with the address each is served on\n' +
      'Examples:\n  tp apps ls\n  tp apps ls env=dev --format json',
  },
  args: {
    labels: { type: 'positional', required: false, valueHint: 'key=value...', description: 'Label filters k=v' },
    ...formatArg,
  },
  run: action(async (args) => {
    const format = formatOf(args.format);
    const filters = ((args._ as string[] | undefined) ?? []).map((f) => {
      const i = f.indexOf('=');
      if (i < 1) throw new BadParameter(`label filter "${f}" must look like key=value`);
      return [f.slice(0, i), f.slice(i + 1)] as const;
    });
    const p = requireProfile();
    const [apps, proxyAddr] = await Promise.all([listApps(p), proxyPublicAddr(p)]);
    const rows = apps
      .filter((a) => filters.every(([k, v]) => a.labels[k] === v))
      .map((a) => {
        const publicAddr = appPublicAddr(a, proxyAddr);
        return { name: a.name, public_addr: publicAddr, url: appUrl(publicAddr), labels: a.labels, online: a.online };
      });
    await print(format, 'apps ls', rows, () =>
      table(
        rows.map((r) => ({
          ...r,
          labels: Object.entries(r.labels).map(([k, v]) => `${k}=${v}`),
          status: r.online ? 'online' : 'offline',
        })),
        ['name', 'url', 'labels', 'status'],
        'no apps you may reach',
      ),
    );
  }),
});

/** What `tp apps login` and `tp apps config --format json` print about one app's credentials. */
function configOf(f: AppCertFiles, c: AppCredentials) {
  const url = appUrl(c.route.publicAddr);
  return {
    app: c.route.app,
    public_addr: c.route.publicAddr,
    uri: url,
    cert: f.cert,
    key: f.key,
    ca: f.ca,
    expires: new Date(c.expires).toISOString(),
    curl: curlLine(f, url),
  };
}

const login = defineCommand({
  meta: {
    name: 'login',
    description:
      'Get a certificate for one web app, for curl and scripts (kept in ~/.tp, removed by tp logout)\n' +
      'It is good for that app only, and ends with your tp login certificate at the latest.\n' +
      'Examples:\n  tp apps login grafana\n  tp apps config grafana --format curl',
  },
  args: {
    name: nameArg,
    ttl: { type: 'string', description: 'Certificate lifetime, e.g. 1h (never past your tp login certificate)' },
    ...formatArg,
  },
  run: action(async (args) => {
    const format = formatOf(args.format);
    const p = requireProfile();
    const [app, proxyAddr] = await Promise.all([findApp(p, args.name), proxyPublicAddr(p)]);
    const publicAddr = appPublicAddr(app, proxyAddr);
    const creds = await requestAppCert(userAuthApi(p), app.name, publicAddr, durationArg('ttl', args.ttl));
    const files = appCertFiles(profileAppsDir(p), app.name);
    writeAppCert(files, creds);
    const out = configOf(files, creds);
    await print(
      format,
      'apps login',
      out,
      () =>
        `Logged in to app ${out.app} (${out.uri}) until ${out.expires}.\n` +
        `Reach it with:\n  ${out.curl}\n` +
        `For tools without client certificates: tp proxy app ${out.app}`,
    );
  }),
});

const logout = defineCommand({
  meta: {
    name: 'logout',
    description:
      'Remove the certificate of one web app, or of every app when none is named\nExample:\n  tp apps logout grafana',
  },
  args: { name: { type: 'positional', required: false, description: 'The app (default: all)' } },
  run: action(async (args) => {
    const p = loadProfile();
    const base = p ? profileAppsDir(p) : undefined;
    const names = args.name ? [args.name] : base ? storedApps(base) : [];
    if (args.name && !(base && removeAppCert(base, args.name)))
      throw new NotFound(`not logged in to app "${args.name}"`, { name: args.name });
    if (!args.name) for (const n of names) removeAppCert(base!, n);
    process.stdout.write(names.length ? `Logged out of app ${names.join(', ')}\n` : 'No app certificates to remove\n');
  }),
});

const CONFIG_FORMATS = ['uri', 'ca', 'cert', 'key', 'curl', 'text', 'json', 'yaml'] as const;

const config = defineCommand({
  meta: {
    name: 'config',
    description:
      'Print where an app is and the files of its certificate, for scripts\n' +
      'Examples:\n' +
      '  curl --cert "$(tp apps config grafana --format cert)" --key "$(tp apps config grafana --format key)" \\\n' +
      '       --cacert "$(tp apps config grafana --format ca)" "$(tp apps config grafana --format uri)"\n' +
      '  eval "$(tp apps config grafana --format curl)"',
  },
  args: {
    name: nameArg,
    format: { type: 'string', description: `One of ${CONFIG_FORMATS.join(', ')}`, default: 'text' },
  },
  run: action(async (args) => {
    const format = String(args.format);
    if (!(CONFIG_FORMATS as readonly string[]).includes(format))
      throw new BadParameter(`--format must be one of ${CONFIG_FORMATS.join(', ')} (got "${format}")`);
    const p = requireProfile();
    const files = appCertFiles(profileAppsDir(p), args.name);
    const out = configOf(files, readValidAppCert(files, args.name));
    const one: Record<string, string> = { uri: out.uri, ca: out.ca, cert: out.cert, key: out.key, curl: out.curl };
    if (one[format] !== undefined) {
      process.stdout.write(`${one[format]}\n`);
      return;
    }
    await print(formatOf(format), 'apps config', out, () =>
      table(
        Object.entries({
          name: out.app,
          uri: out.uri,
          ca: out.ca,
          cert: out.cert,
          key: out.key,
          expires: out.expires,
        }).map(([k, v]) => ({ key: k, value: v })),
        ['key', 'value'],
      ),
    );
  }),
});

export default defineCommand({
  meta: { name: 'apps', description: 'Web apps: list them, get a certificate for curl and scripts' },
  subCommands: { ls, login, logout, config },
});
