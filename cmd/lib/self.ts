/** Bun flags that keep tp from reading .env or bunfig.toml (whose preload runs code) where it happens to run. */
export const BUN_SAFE_FLAGS = ['--no-env-file', '--config=/dev/null', '--no-install'] as const;

/**
 * The command line that starts this very tp again: the executable alone when it is a compiled binary (built with
 * those autoloads off), else the runtime with BUN_SAFE_FLAGS and the entry script (cmd/tp.ts in a clone, the
 * bundle in a package). OpenSSH's ProxyCommand (run in the user's current directory) and the agent's unit run it.
 */
export function selfCommand(): string[] {
  return Bun.isStandaloneExecutable ? [process.execPath] : [process.execPath, ...BUN_SAFE_FLAGS, Bun.main];
}
