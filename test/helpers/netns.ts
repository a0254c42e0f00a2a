// Network namespaces for link tests: an agent's device in its own namespace, joined to the host by a veth pair.
// Only addresses inside 10.231.0.0/16 on interfaces the test creates are used, and everything is removed at close.

/** A namespace with one veth link to the host: `hostIp` on the host side, `nsIp` inside. */
export interface LinkedNamespace {
  name: string;
  hostIp: string;
  nsIp: string;
  /** The command prefix that runs a program inside the namespace. */
  exec: string[];
  /**
   * Adds loss (percent) and one-way delay (ms) to the device's outgoing packets with tc netem; `clear` removes it.
   * Returns false when the kernel has no netem (the caller impairs some other way).
   */
  impair(o: { lossPct: number; delayMs: number }): boolean;
  clear(): void;
  /** Takes the link down or brings it back (the host side of the veth). */
  setLink(up: boolean): void;
  close(): void;
}

function run(args: string[]): { ok: boolean; err: string } {
  const r = Bun.spawnSync(args, { stdout: 'ignore', stderr: 'pipe' });
  return { ok: r.exitCode === 0, err: r.stderr.toString().trim() };
}

function must(args: string[]): void {
  const r = run(args);
  if (!r.ok) throw new Error(`${args.join(' ')}: ${r.err}`);
}

/** Why namespaces cannot be made here (no `ip`, no rights), or undefined when they can. */
export function netnsUnavailable(): string | undefined {
  if (!Bun.which('ip') || !Bun.which('tc')) return 'iproute2 (ip, tc) is not installed';
  const probe = `tpprobe${process.pid}`;
  const r = run(['ip', 'netns', 'add', probe]);
  if (!r.ok) return `cannot create a network namespace: ${r.err}`;
  run(['ip', 'netns', 'del', probe]);
  return undefined;
}

/** Creates namespace number `n` (0..249) with its veth link, loopback up in both. */
export function linkedNamespace(n: number): LinkedNamespace {
  const name = `tpflaky${n}`;
  const host = `tfh${n}`;
  const dev = `tfa${n}`;
  const hostIp = `10.231.${n}.1`;
  const nsIp = `10.231.${n}.2`;
  run(['ip', 'netns', 'del', name]); // a leftover of a killed run
  run(['ip', 'link', 'del', host]);
  must(['ip', 'netns', 'add', name]);
  const exec = ['ip', 'netns', 'exec', name];
  must(['ip', 'link', 'add', host, 'type', 'veth', 'peer', 'name', dev]);
  must(['ip', 'link', 'set', dev, 'netns', name]);
  must(['ip', 'addr', 'add', `${hostIp}/30`, 'dev', host]);
  must(['ip', 'link', 'set', host, 'up']);
  must([...exec, 'ip', 'addr', 'add', `${nsIp}/30`, 'dev', dev]);
  must([...exec, 'ip', 'link', 'set', dev, 'up']);
  must([...exec, 'ip', 'link', 'set', 'lo', 'up']);
  return {
    name,
    hostIp,
    nsIp,
    exec,
    impair: ({ lossPct, delayMs }) => {
      const netem = ['netem', 'loss', `${lossPct}%`, 'delay', `${delayMs}ms`];
      const r = run([...exec, 'tc', 'qdisc', 'replace', 'dev', dev, 'root', ...netem]);
      if (!r.ok && /qdisc kind is unknown/i.test(r.err)) return false;
      if (!r.ok) throw new Error(`tc netem: ${r.err}`);
      return true;
    },
    clear: () => {
      run([...exec, 'tc', 'qdisc', 'del', 'dev', dev, 'root']);
    },
    setLink: (up) => must(['ip', 'link', 'set', host, up ? 'up' : 'down']),
    close: () => {
      run(['ip', 'link', 'del', host]);
      run(['ip', 'netns', 'del', name]);
    },
  };
}
