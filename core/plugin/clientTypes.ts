// The plugin contract's client side: what `tp <kind>` commands ask of a plugin's `client.ts` (types.ts is the rest).

/** Where a local tunnel (`tp proxy db NAME --tunnel`) listens, and whom its connections reach as. */
export interface LocalEndpoint {
  host: string;
  port: number;
  /** The principal on the resource (the database user). */
  user: string;
  /** The database, when one was chosen. */
  database?: string;
}

/** A plugin's client module: how the protocol's stock clients reach a local tunnel. No secrets (the tunnel holds none). */
export interface PluginClient {
  /** The stock client `tp <kind> connect` runs (`psql`), with its arguments; the user's own `extra` go last. */
  command(at: LocalEndpoint, extra: string[]): { program: string; args: string[] };
  /** The command line a person types to use the tunnel (printed by `tp proxy <kind> --tunnel`). */
  connectHint(at: LocalEndpoint): string;
  /** Environment variables that point the protocol's stock clients at the tunnel (`tp <kind> env`). */
  env(at: LocalEndpoint): Record<string, string>;
  /** The protocol's error message telling a local client why the tunnel could not carry its connection. */
  refusal?(message: string): Uint8Array;
}
