import type { AgentPluginContext } from '../../core/plugin/types.ts';

/**
 * The parts of an agent plugin context that only the SSH plugin uses (host identity, node labels, recordings,
 * state callbacks), stubbed for tests that run a database plugin's agent side alone. Spread into a context.
 */
export function hostContextStub(dataDir: string): Pick<
  AgentPluginContext,
  'labels' | 'identity' | 'onIdentity' | 'recording'
> & {
  state: Pick<AgentPluginContext['state'], 'userCas' | 'onChange'>;
} {
  return {
    labels: () => ({}),
    identity: () => {
      throw new Error('this test context has no host identity');
    },
    onIdentity: () => undefined,
    recording: { dir: dataDir, mode: () => 'off', onPart: () => undefined },
    state: { userCas: () => [], onChange: () => undefined },
  };
}
