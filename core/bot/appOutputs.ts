// `tp bot start --app NAME`: DIR/app/NAME/{tls.crt,tls.key,ca.crt} (0600), an app certificate for the bot asked
// again at every write of its identity, so it never outlives the identity and follows CA rotations.
import { requestAppCert } from '../client/appCerts.ts';
import { appPublicAddr, findApp, proxyPublicAddr, userAuthApi } from '../client/appResources.ts';
import { profileFromIdentity } from '../client/identityFile.ts';
import { describe } from '../errors.ts';
import { log } from '../log.ts';
import type { BotExtraOutputs } from './outputs.ts';

/**
 * The outputs of `--app` for each of `apps`, asked for with the identity about to be written: each app must be one
 * the bot's roles reach. The first write fails on a refusal (a typo fails the CI step); a later one (the app gone
 * for now, a lock on it) is logged and leaves the previous certificate in place, and the identity goes on renewing.
 */
export function botAppOutputs(apps: string[]): BotExtraOutputs {
  let written = false;
  return async (id, dir) => {
    try {
      const profile = profileFromIdentity(id, `${dir}/identity`);
      const proxyAddr = await proxyPublicAddr(profile);
      const files: Record<string, string> = {};
      for (const name of apps) {
        const app = await findApp(profile, name);
        const c = await requestAppCert(userAuthApi(profile), app.name, appPublicAddr(app, proxyAddr));
        // The key first: a certificate on disk always has its key beside it.
        files[`app/${app.name}/tls.key`] = c.key;
        files[`app/${app.name}/tls.crt`] = c.cert;
        files[`app/${app.name}/ca.crt`] = c.ca;
      }
      written = true;
      return files;
    } catch (err) {
      if (!written) throw err;
      log.error('bot app certificates not renewed', { instance: id.instance, error: describe(err) });
      return {};
    }
  };
}
