/**
 * The command line that starts this very tp again: the executable alone when it is a compiled binary (its code lives
 * in Bun's embedded /$bunfs/), else the runtime and the entry script (cmd/tp.ts in a clone, the installed bundle or
 * launcher in a package). OpenSSH's ProxyCommand and the agent's systemd unit run it.
 */
export function selfCommand(): string[] {
  return Bun.main.startsWith('/$bunfs/') ? [process.execPath] : [process.execPath, Bun.main];
}
