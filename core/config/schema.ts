import * as v from 'valibot';

const HostPort = v.pipe(
  v.string(),
  v.regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.-]*):\d{1,5}$/, 'expected host:port, e.g. 0.0.0.0:3080'),
);
const Url = v.pipe(v.string(), v.minLength(1));
const Duration = v.pipe(v.string(), v.regex(/^(\d+(ms|s|m|h|d))+$/, 'use a duration such as 10s or 5m'));

/** tp.yaml, the one config file of every tp process. Keys are kept stable (issue 3): unknown keys are errors. */
export const ConfigSchema = v.strictObject({
  cluster_name: v.optional(
    v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9.-]{0,62}$/, 'use lowercase letters, digits, "." and "-"')),
  ),
  data_dir: v.optional(v.pipe(v.string(), v.minLength(1))),
  auth: v.optional(
    v.strictObject({
      enabled: v.optional(v.boolean(), true),
      listen: v.optional(HostPort),
      second_factor: v.optional(
        v.picklist(['otp', 'webauthn', 'on', 'off'], 'second_factor is "otp", "webauthn", "on" (either) or "off"'),
        'otp',
      ),
      public_url: v.optional(Url),
      /** Plain-HTTP `/metrics` listener (off when absent); keep it on loopback or a private network. */
      metrics_listen: v.optional(HostPort),
      /** `node` (default): nodes record sessions; `off`: nothing is recorded. */
      session_recording: v.optional(v.picklist(['node', 'off'], 'session_recording is "node" or "off"'), 'node'),
      /** Where recordings are kept: a directory (default <data_dir>/recordings) or an S3-compatible bucket. */
      recordings: v.optional(
        v.variant('type', [
          v.strictObject({ type: v.literal('fs'), path: v.optional(v.pipe(v.string(), v.minLength(1))) }),
          v.strictObject({
            type: v.literal('s3'),
            endpoint: Url,
            bucket: v.pipe(v.string(), v.minLength(1)),
            region: v.pipe(v.string(), v.minLength(1)),
            access_key_id: v.pipe(v.string(), v.minLength(1)),
            secret_access_key: v.pipe(v.string(), v.minLength(1)),
          }),
        ]),
      ),
    }),
    {},
  ),
  proxy: v.optional(
    v.strictObject({
      enabled: v.optional(v.boolean(), true),
      listen: v.optional(HostPort),
      ssh_listen: v.optional(HostPort),
      public_addr: v.optional(v.pipe(v.string(), v.minLength(1))),
      /** An operator's certificate (PEM) and key for web app hosts, served to the TLS names it covers. */
      apps_cert_file: v.optional(v.pipe(v.string(), v.minLength(1))),
      apps_key_file: v.optional(v.pipe(v.string(), v.minLength(1))),
      /** How long a web UI login lasts (its certificates'; roles' max_session_ttl may cap it). */
      web_session_ttl: v.optional(
        v.pipe(v.string(), v.regex(/^(\d+(ms|s|m|h|d))+$/, 'use a duration such as 8h or 30m')),
        '12h',
      ),
      /** Plain-HTTP `/metrics` listener (off when absent); keep it on loopback or a private network. */
      metrics_listen: v.optional(HostPort),
      /** Deadline for a TLS handshake, SSH authentication on ssh_listen and the relay's request header (10s). */
      handshake_timeout: v.optional(Duration),
      /** Deadline for an HTTP request's headers, then for its body (10s). */
      request_timeout: v.optional(Duration),
      /** How long an HTTP keep-alive connection may sit idle between requests (30s). */
      idle_timeout: v.optional(Duration),
      /** Connections one address may hold at once before authenticating, per port (256). */
      max_unauthenticated_per_ip: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
      /**
       * How often the proxy pings each agent's tunnel (15s); one unanswered for three periods ends it, and the agent
       * shows offline. Shorter finds dead links sooner, at a little traffic per agent.
       */
      tunnel_keepalive: v.optional(Duration),
      /**
       * Agent tunnels taken on per second at most (1000); beyond it, or while the proxy lags, an agent is told when
       * to come back, so a fleet reconnecting after a restart is spread out instead of taken in one burst.
       */
      tunnel_accept_rate: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
    }),
    {},
  ),
  ssh: v.optional(
    v.strictObject({
      enabled: v.optional(v.boolean(), true),
      name: v.optional(v.pipe(v.string(), v.minLength(1))),
      labels: v.optional(v.record(v.string(), v.string()), {}),
      /** Labels whose values come from commands run on the node, refreshed every `period`. */
      commands: v.optional(
        v.array(
          v.strictObject({
            name: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.-]+$/, 'label names are letters, digits, _ . -')),
            command: v.pipe(v.array(v.string()), v.minLength(1, 'command is an argv list, e.g. [uname, -m]')),
            period: v.optional(
              v.pipe(v.string(), v.regex(/^(\d+(ms|s|m|h|d))+$/, 'use a duration such as 1m or 1h')),
              '1h',
            ),
          }),
        ),
        [],
      ),
      /** Direct mode: listen here (mutual TLS) for the proxy instead of holding a reverse tunnel. */
      listen: v.optional(HostPort),
      /** `tp agent start --config`: the proxy to join (as --proxy), the join token and CA pin for the first start. */
      proxy: v.optional(HostPort),
      token: v.optional(v.pipe(v.string(), v.minLength(1))),
      ca_pin: v.optional(v.pipe(v.string(), v.regex(/^sha256:[0-9a-f]{64}$/, 'ca_pin looks like sha256:<64 hex>'))),
      /**
       * A process that runs only the agent gives the runtime's code pages back to the kernel once start-up (or a
       * session) is over and it sits idle (true): ~28 MiB less resident 8 s after start, ~13 MiB less after 10
       * minutes. false keeps them. Never touches the agent's own memory; no effect in all-in-one processes.
       */
      reclaim_idle: v.optional(v.boolean()),
    }),
    {},
  ),
  storage: v.optional(
    v.strictObject({
      type: v.optional(v.picklist(['sqlite', 'postgres'], 'storage.type is "sqlite" or "postgres"'), 'sqlite'),
      url: v.optional(Url),
    }),
    { type: 'sqlite' },
  ),
});

/** tp.yaml as read: the core keys, plus the plugins' sections found in the file (by section key). */
export type Config = v.InferOutput<typeof ConfigSchema> & {
  sections?: Record<string, import('./sections.ts').SectionConfig>;
};

/** Every key the schema knows, by dotted parent path (for "did you mean" hints). */
export const KNOWN_KEYS: Record<string, string[]> = {
  '': ['cluster_name', 'data_dir', 'auth', 'proxy', 'ssh', 'storage'],
  auth: ['enabled', 'listen', 'second_factor', 'public_url', 'metrics_listen', 'session_recording', 'recordings'],
  proxy: [
    'enabled',
    'listen',
    'ssh_listen',
    'public_addr',
    'apps_cert_file',
    'apps_key_file',
    'web_session_ttl',
    'metrics_listen',
    'handshake_timeout',
    'request_timeout',
    'idle_timeout',
    'max_unauthenticated_per_ip',
  ],
  ssh: ['enabled', 'name', 'labels', 'commands', 'listen', 'proxy', 'token', 'ca_pin', 'reclaim_idle'],
  storage: ['type', 'url'],
};
