/** What `tp agent install` sets up: the agent's tp.yaml and the systemd unit that runs it. */
export interface AgentServiceSpec {
  proxy: string;
  token?: string;
  caPin?: string;
  name?: string;
  labels: Record<string, string>;
  dataDir: string;
  configPath: string;
  /** The command line that starts this tp (the binary, or the runtime and its script). */
  exec: string[];
  /** `strict`: the systemd sandbox below; `off`: none, for nodes whose users need a full shell (sudo, $HOME). */
  sandbox: 'strict' | 'off';
}

/** The unit's file name, and the name systemctl knows it by. */
export const UNIT_NAME = 'tp-agent.service';

/** tp.yaml for an agent-only host: no auth, no proxy, the SSH service joining `proxy` (it holds the join token). */
export function renderAgentConfig(s: AgentServiceSpec): string {
  const ssh: Record<string, unknown> = { enabled: true };
  if (s.name) ssh.name = s.name;
  if (Object.keys(s.labels).length) ssh.labels = s.labels;
  ssh.proxy = s.proxy;
  if (s.token) ssh.token = s.token;
  if (s.caPin) ssh.ca_pin = s.caPin;
  const doc = { data_dir: s.dataDir, auth: { enabled: false }, proxy: { enabled: false }, ssh };
  return (
    '# The tp agent of this host, written by `tp agent install`; `tp agent uninstall` removes it.\n' +
    '# It holds the join token (used once, at the first start): keep this file mode 0600.\n' +
    Bun.YAML.stringify(doc, null, 2)
  );
}

/** Quotes one word of an ExecStart= line: systemd's double quotes, with % (specifiers) and $ (variables) doubled. */
export function systemdWord(word: string): string {
  const escaped = word.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(escaped) ? escaped : `"${escaped.replace(/(["\\])/g, '\\$1')}"`;
}

/**
 * The sandbox of `--sandbox strict`. The agent's sessions inherit it: they see a read-only system, no /home, a
 * private /tmp and cannot gain privileges (no sudo), which suits a device reached for commands and logs.
 */
function sandboxLines(dataDir: string): string[] {
  return [
    '# Sandbox (tp agent install --sandbox strict; sessions inherit it: --sandbox off for full shells)',
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    `ReadWritePaths=${systemdWord(dataDir)}`,
    'ProtectHome=yes',
    'PrivateTmp=yes',
    'ProtectKernelTunables=yes',
    'ProtectKernelModules=yes',
    'ProtectKernelLogs=yes',
    'ProtectControlGroups=yes',
    'ProtectClock=yes',
    'ProtectHostname=yes',
    'RestrictSUIDSGID=yes',
    'RestrictRealtime=yes',
    'RestrictNamespaces=yes',
    'LockPersonality=yes',
    'SystemCallArchitectures=native',
    'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK',
  ];
}

/**
 * The systemd unit: restarts forever (2 s, backing off to 2 min on systemd >= 254, which knows RestartSteps),
 * never rate-limited into "failed", and started once the network is up.
 */
export function renderUnit(s: AgentServiceSpec): string {
  const exec = [...s.exec, 'agent', 'start', '--config', s.configPath].map(systemdWord).join(' ');
  return [
    '[Unit]',
    `Description=tp agent (SSH access through the tp proxy ${s.proxy})`,
    'Wants=network-online.target',
    'After=network-online.target',
    'StartLimitIntervalSec=0',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${exec}`,
    'Restart=always',
    'RestartSec=2s',
    'RestartSteps=10',
    'RestartMaxDelaySec=2min',
    'TimeoutStopSec=20s',
    'UMask=0077',
    ...(s.sandbox === 'strict' ? sandboxLines(s.dataDir) : []),
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}
