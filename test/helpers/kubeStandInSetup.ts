// The kube stand-in as the kube tests start it: a PKI of its own, the stand-in API server (test/fixtures/kubeApiServer)
// on it, and the kubeconfig with which an agent reaches it as `tp-agent`, who may impersonate.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StandInPod } from '../fixtures/kubeApiObjects.ts';
import { type KubeStandIn, type KubeStandInOptions, startKubeApiServer } from '../fixtures/kubeApiServer.ts';
import { createDbTestPki, type DbTestPki } from './dbPki.ts';

/** The stand-in API server, its PKI, and a kubeconfig (its `admin` context) with which the agent reaches it. */
export interface KubeStandInSetup {
  api: KubeStandIn;
  pki: DbTestPki;
  /** The agent's kubeconfig file: the stand-in's CA and a client certificate for `tp-agent`. */
  kubeconfig: string;
}

/** What a test changes about the stand-in; by default minor 33, `tp-agent` impersonates, and pod p1 in default. */
export interface KubeStandInSetupOptions {
  minor?: number;
  impersonators?: string[];
  tokens?: KubeStandInOptions['tokens'];
  pods?: StandInPod[];
  /** PEM of more client CAs the stand-in trusts besides its own (e.g. the tp cluster's TLS CA). */
  extraClientCa?: string;
}

/** Starts the stand-in with its PKI under `dir/pki` and writes the agent's kubeconfig at `dir/agent.kubeconfig`. */
export async function startKubeStandInSetup(
  dir: string,
  opts: KubeStandInSetupOptions = {},
): Promise<KubeStandInSetup> {
  const pki = await createDbTestPki(join(dir, 'pki'), Date.now());
  const agentCert = await pki.clientCert('tp-agent');
  const api = await startKubeApiServer({
    cert: pki.server.cert,
    key: pki.server.key,
    clientCa: opts.extraClientCa ? `${pki.clientCaPem.trim()}\n${opts.extraClientCa.trim()}\n` : pki.clientCaPem,
    impersonators: opts.impersonators ?? ['tp-agent'],
    tokens: opts.tokens,
    minor: opts.minor ?? 33,
    pods: opts.pods ?? [{ name: 'p1', namespace: 'default', created: Date.now() - 60_000 }],
    now: () => Date.now(),
  });
  const kubeconfig = join(dir, 'agent.kubeconfig');
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server: api.url, 'certificate-authority': pki.serverCaPath } }],
      users: [{ name: 'u', user: { 'client-certificate': agentCert.certPath, 'client-key': agentCert.keyPath } }],
      contexts: [{ name: 'admin', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'admin',
    }),
    { mode: 0o600 },
  );
  return { api, pki, kubeconfig };
}
