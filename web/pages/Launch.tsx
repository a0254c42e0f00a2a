import { useEffect, useState } from 'preact/hooks';
import * as v from 'valibot';
import { apiOf, readable } from '../api.ts';

const LaunchAnswer = v.object({ url: v.string() });

/**
 * The app launcher (`/web/launch/<app>?state=..&path=..`): asks the proxy for an app session and goes to the app's
 * host with it in the URL fragment; without a state, goes to the app, whose host sends the browser back with one.
 */
export function Launch({ app, url }: { app: string; url: URL }) {
  const [error, setError] = useState('');
  useEffect(() => {
    const state = url.searchParams.get('state') ?? undefined;
    const path = url.searchParams.get('path') ?? undefined;
    apiOf(LaunchAnswer, 'POST', '/webapi/apps/launch', { app, state, path })
      .then((a) => location.replace(a.url))
      .catch((err: unknown) => setError(readable(err)));
  }, [app, url]);
  return (
    <section>
      <h1>{error ? `Cannot open ${app}` : `Opening ${app}…`}</h1>
      {error ? (
        <p class="error" role="alert">
          {error}
        </p>
      ) : null}
    </section>
  );
}
