import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { defineCommand } from 'citty';
import { DEFAULT_AUTH_LISTEN, defaultDataDir, userDataDir } from '../core/config/defaults.ts';
import { encodeOpenSSHPrivateKey, formatAuthorizedKey, generateKeyPair, sshPublicBlob } from '../core/crypto/keys.ts';
import { parseCert } from '../core/crypto/sshcert.ts';
import { BadParameter } from '../core/errors.ts';
import pkg from '../package.json' with { type: 'json' };
import { action, adminArgs, adminAuth, durationArg, listArg } from './lib/context.ts';
import { configFrom, runUntilSignal } from './lib/daemon.ts';
import { formatArg, formatOf, print } from './lib/output.ts';
import type { Output } from './lib/outputSchemas.ts';
import { isoTime } from './lib/outputViews.ts';

const start = defineCommand({
  meta: {
    name: 'start',
    description:
      'Run the Auth service alone: creates the cluster and its CAs on first start, then serves the mTLS API.\n' +
      'Several auth servers may share one PostgreSQL database (storage.type: postgres) for high availability.',
  },
  args: {
    config: { type: 'string', description: 'Path to tp.yaml' },
    'data-dir': {
      type: 'string',
      description: `Data dir (default: data_dir from tp.yaml, else TP_DATA_DIR, else ${userDataDir()})`,
    },
    listen: { type: 'string', description: `Address for the auth API (default ${DEFAULT_AUTH_LISTEN})` },
    'cluster-name': { type: 'string', description: 'Cluster name on first start (default: host name)' },
    'storage-url': { type: 'string', description: 'postgres://... to use PostgreSQL instead of the embedded SQLite' },
  },
  run: action(async (args) => {
    const cfg = await configFrom(args.config);
    const storage = args['storage-url'] ? { type: 'postgres' as const, url: args['storage-url'] } : cfg.storage;
    const { composeCluster } = await import('../core/compose/index.ts');
    await runUntilSignal(
      () =>
        composeCluster(
          {
            ...cfg,
            cluster_name: args['cluster-name'] ?? cfg.cluster_name,
            storage,
            auth: { ...cfg.auth, enabled: true, listen: args.listen ?? cfg.auth.listen },
            proxy: { ...cfg.proxy, enabled: false },
            ssh: { ...cfg.ssh, enabled: false },
          },
          { dataDir: args['data-dir'] ?? cfg.data_dir ?? defaultDataDir(), version: pkg.version },
        ),
      (cluster) => {
        process.stdout.write(`auth service listening on ${cluster.auth!.addr}\n`);
      },
    );
  }),
});

const exportCa = defineCommand({
  meta: {
    name: 'export',
    description:
      "Print a CA's public keys.\n" +
      '  --type user --format openssh      a TrustedUserCAKeys file for OpenSSH sshd\n' +
      '  --type host --format known_hosts  "@cert-authority * <key>" lines for ssh clients\n' +
      '  --type tls  --format pem          the X.509 CA certificate(s)',
  },
  args: {
    ...adminArgs,
    type: { type: 'string', description: 'user, host or tls', required: true },
    format: { type: 'string', description: 'openssh (default for user/host), known_hosts, or pem (default for tls)' },
  },
  run: action(async (args) => {
    const type = args.type;
    if (type !== 'user' && type !== 'host' && type !== 'tls')
      throw new BadParameter('--type must be user, host or tls');
    const format = args.format ?? (type === 'tls' ? 'pem' : 'openssh');
    const ca = await adminAuth(args).getCa(type);
    if (format === 'pem') {
      if (type !== 'tls') throw new BadParameter('--format pem is for --type tls');
      process.stdout.write(ca.tlsCerts.join(''));
    } else if (format === 'openssh' || format === 'known_hosts') {
      if (type === 'tls') throw new BadParameter('the tls CA exports as --format pem');
      const prefix = format === 'known_hosts' ? '@cert-authority * ' : '';
      process.stdout.write(ca.sshKeys.map((k) => `${prefix}${k}\n`).join(''));
    } else {
      throw new BadParameter('--format must be openssh, known_hosts or pem');
    }
  }),
});

const sign = defineCommand({
  meta: {
    name: 'sign',
    description:
      'Make keys here and have the CA certify them.\n' +
      '  --user NAME --out DIR   writes DIR/key, DIR/key.pub, DIR/key-cert.pub, DIR/tls.key, DIR/tls.crt, DIR/ca.crt\n' +
      '  --host NAME --out DIR   host keys and certs for an OpenSSH sshd (HostKey/HostCertificate) or a service\n' +
      "The TTL is capped by the user's roles (max_session_ttl).",
  },
  args: {
    ...adminArgs,
    user: { type: 'string', description: 'User to certify' },
    host: { type: 'string', description: 'Host name to certify (principal), e.g. node1.example.com' },
    principals: { type: 'string', description: 'Extra host principals/addresses, comma-separated (with --host)' },
    ttl: {
      type: 'string',
      description: 'Certificate lifetime, e.g. 1h, 30m (user default: role maximum; host default: 8760h)',
    },
    out: { type: 'string', description: 'Directory to write into (created if missing)', required: true },
    ...formatArg,
  },
  run: action(async (args) => {
    if (!!args.user === !!args.host) throw new BadParameter('give exactly one of --user NAME or --host NAME');
    const format = formatOf(args.format);
    const out = resolve(args.out);
    mkdirSync(out, { recursive: true, mode: 0o700 });
    const ssh = generateKeyPair('ed25519');
    const tls = generateKeyPair('p256');
    const sshPublicKey = formatAuthorizedKey(sshPublicBlob(ssh.publicKey));
    const tlsPublicKey = tls.publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const auth = adminAuth(args);
    const ttlMs = durationArg('ttl', args.ttl);
    let sshCert: string | undefined;
    let tlsCert: string;
    let caCerts: string[];
    let summary: Output<'ca sign'>;
    if (args.user) {
      const r = await auth.signUser({
        username: args.user,
        sshPublicKey,
        tlsPublicKey,
        ttlMs,
      });
      sshCert = r.sshCert;
      tlsCert = r.tlsCert;
      caCerts = r.tlsCa;
      summary = { kind: 'user', user: args.user, logins: r.logins, expires: isoTime(r.expires)!, dir: out };
    } else {
      const r = await auth.signHost({
        hostName: args.host!,
        principals: listArg(args.principals),
        sshPublicKey,
        tlsPublicKey,
        ttlMs: ttlMs ?? 365 * 86_400_000,
        role: 'node',
      });
      sshCert = r.sshCert;
      tlsCert = r.tlsCert;
      caCerts = (await auth.getCa('tls')).tlsCerts;
      const cert = parseCert(r.sshCert);
      summary = {
        kind: 'host',
        host: args.host!,
        host_id: r.hostId,
        principals: cert.principals,
        expires: new Date(Number(cert.validBefore) * 1000).toISOString(),
        dir: out,
      };
    }
    const write = (name: string, data: string, mode: number) => {
      writeFileSync(join(out, name), data, { mode });
      chmodSync(join(out, name), mode);
    };
    write('key', encodeOpenSSHPrivateKey(ssh.privateKey, args.user ?? args.host ?? ''), 0o600);
    write('key.pub', `${sshPublicKey}\n`, 0o644);
    if (sshCert) write('key-cert.pub', `${sshCert}\n`, 0o644);
    write('tls.key', tls.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600);
    write('tls.crt', tlsCert, 0o644);
    write('ca.crt', caCerts.join(''), 0o644);
    const who =
      summary.kind === 'user'
        ? `user ${summary.user}, logins ${summary.logins.join(',')}`
        : `host ${summary.host}, host ID ${summary.host_id}`;
    await print(
      format,
      'ca sign',
      summary,
      () => `wrote keys and certificates to ${out} (${who}, expires ${summary.expires})`,
    );
  }),
});

export default defineCommand({
  meta: { name: 'ca', description: 'The cluster certificate authority: run it, export its keys, sign certificates' },
  subCommands: { start, export: exportCa, sign },
});
