import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { defineCommand } from 'citty';
import type { CaType } from '../core/auth/cas.ts';
import { DEFAULT_AUTH_LISTEN, defaultDataDir, userDataDir } from '../core/config/defaults.ts';
import { encodeOpenSSHPrivateKey, formatAuthorizedKey, generateKeyPair, sshPublicBlob } from '../core/crypto/keys.ts';
import { pemBundle } from '../core/crypto/pem.ts';
import { parseCert } from '../core/crypto/sshcert.ts';
import { BadParameter } from '../core/errors.ts';
import pkg from '../package.json' with { type: 'json' };
import { PLUGINS } from '../plugins/index.ts';
import { signDbServer } from './lib/caSignDb.ts';
import { action, adminArgs, adminAuth, durationArg, listArg } from './lib/context.ts';
import { configFrom, runUntilSignal } from './lib/daemon.ts';
import { formatArg, formatOf, print } from './lib/output.ts';
import type { Output } from './lib/outputSchemas.ts';
import { isoTime } from './lib/outputViews.ts';

const CA_NAMES: readonly CaType[] = ['user', 'host', 'tls', 'db', 'db_client'];
/** The X.509 CAs, which export as PEM. */
const X509_CAS: readonly CaType[] = ['tls', 'db', 'db_client'];
const isCaType = (t: string): t is CaType => (CA_NAMES as readonly string[]).includes(t);

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
          { dataDir: args['data-dir'] ?? cfg.data_dir ?? defaultDataDir(), version: pkg.version, plugins: PLUGINS },
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
      '  --type tls  --format pem          the X.509 CA certificate(s)\n' +
      "  --type db_client --format pem     what databases trust for tp's client certificates (PostgreSQL\n" +
      '                                    ssl_ca_file, MariaDB ssl-ca); during a rotation old and new\n' +
      '  --type db --format pem            what agents verify database servers against (signs `tp ca sign --db`)',
  },
  args: {
    ...adminArgs,
    type: { type: 'string', description: 'user, host, tls, db or db_client', required: true },
    format: {
      type: 'string',
      description: 'openssh (default for user/host), known_hosts, or pem (default for tls, db, db_client)',
    },
  },
  run: action(async (args) => {
    const type = args.type;
    if (!isCaType(type)) throw new BadParameter('--type must be user, host, tls, db or db_client');
    const x509 = X509_CAS.includes(type);
    const format = args.format ?? (x509 ? 'pem' : 'openssh');
    const ca = await adminAuth(args).getCa(type);
    if (format === 'pem') {
      if (!x509) throw new BadParameter('--format pem is for --type tls, db or db_client');
      process.stdout.write(pemBundle(ca.tlsCerts));
    } else if (format === 'openssh' || format === 'known_hosts') {
      if (x509) throw new BadParameter(`the ${type} CA exports as --format pem`);
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
      '  --db --host NAME --out DIR   a database server (default --ttl 2160h): DIR/server.crt (db CA; SAN NAME),\n' +
      '      DIR/server.key (0600, made here), DIR/ca.crt (the db_client CA: trust it for client certificates).\n' +
      '      PostgreSQL, postgresql.conf: ssl = on, ssl_cert_file = DIR/server.crt, ssl_key_file = DIR/server.key,\n' +
      '        ssl_ca_file = DIR/ca.crt; pg_hba.conf: hostssl all all <agent address>/32 cert\n' +
      '      MariaDB/MySQL, my.cnf [mariadbd]: ssl-cert = DIR/server.crt, ssl-key = DIR/server.key,\n' +
      "        ssl-ca = DIR/ca.crt, require_secure_transport = ON; then CREATE USER 'alice'@'%' REQUIRE SUBJECT '/CN=alice'\n" +
      '      Agents reach the database by NAME, which must match what tp.yaml gives as its address.\n' +
      "The TTL is capped by the user's roles (max_session_ttl).",
  },
  args: {
    ...adminArgs,
    user: { type: 'string', description: 'User to certify' },
    db: { type: 'boolean', description: 'With --host: a database server certificate from the db CA' },
    host: { type: 'string', description: 'Host name to certify (principal), e.g. node1.example.com' },
    principals: { type: 'string', description: 'Extra host principals/addresses, comma-separated (with --host)' },
    ttl: {
      type: 'string',
      description: 'Certificate lifetime, e.g. 1h, 30m (user default: role maximum; host: 8760h; --db: 2160h)',
    },
    out: { type: 'string', description: 'Directory to write into (created if missing)', required: true },
    ...formatArg,
  },
  run: action(async (args) => {
    if (!!args.user === !!args.host) throw new BadParameter('give exactly one of --user NAME or --host NAME');
    const format = formatOf(args.format);
    if (args.db) {
      if (!args.host) throw new BadParameter('--db certifies a database server: give --host NAME');
      if (args.principals) throw new BadParameter('--db takes one name (--host); --principals is for SSH hosts');
      return signDbServer(adminAuth(args), { host: args.host, ttl: args.ttl, out: args.out, format });
    }
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
    write('ca.crt', pemBundle(caCerts), 0o644);
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
