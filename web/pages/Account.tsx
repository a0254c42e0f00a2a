import { startRegistration } from '@simplewebauthn/browser';
import { useEffect, useState } from 'preact/hooks';
import { type AccountView, AccountViewSchema, TotpOfferSchema } from '../../core/api/webSchemas.ts';
import { api, apiOf, readable } from '../api.ts';
import { Qr } from '../qr.tsx';
import { RegistrationChallengeSchema } from '../webauthnOptions.ts';
import { ConfirmFactor, type ConfirmWith, gatherProof } from './confirmFactor.tsx';

type Device = AccountView['devices'][number];

/**
 * The user's own account: roles and logins, password change, and second factors to add or remove. Every change
 * is confirmed with a fresh factor (a current code, the security key, or the password without one).
 */
export function Account() {
  const [acct, setAcct] = useState<AccountView | undefined>();
  const [error, setError] = useState('');
  const [note, setNote] = useState('');
  const [pendingTotp, setPendingTotp] = useState<{ secret: string; uri: string } | undefined>();
  const [removing, setRemoving] = useState<Device | undefined>();
  const reload = () => apiOf(AccountViewSchema, 'GET', '/webapi/ui/account').then(setAcct, (e) => setError(readable(e)));
  useEffect(() => {
    void reload();
  }, []);
  const act = async (fn: () => Promise<unknown>, done: string) => {
    setError('');
    setNote('');
    try {
      await fn();
      // The list is current before the message says what changed.
      await reload();
      setNote(done);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };
  /** Runs a form's change with the proof its confirmation fields give. */
  const submit = (e: Event, fn: (form: HTMLFormElement, d: FormData) => Promise<unknown>, done: string) => {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    void act(() => fn(form, new FormData(form)), done);
  };
  const proof = (form: HTMLFormElement) => gatherProof(form, acct?.confirmWith ?? []);

  const changePassword = (e: Event) => {
    const d = new FormData(e.target as HTMLFormElement);
    if (d.get('newPassword') !== d.get('confirm')) {
      e.preventDefault();
      return setError('The two new passwords differ.');
    }
    submit(
      e,
      async (form) => {
        await api('POST', '/webapi/ui/account/password', {
          oldPassword: String(d.get('oldPassword')),
          newPassword: String(d.get('newPassword')),
          proof: await proof(form),
        });
        form.reset();
      },
      'Password changed.',
    );
  };
  const addKey = (e: Event) =>
    submit(
      e,
      async (form, d) => {
        const confirmation = await proof(form);
        const { webauthn } = await apiOf(RegistrationChallengeSchema, 'POST', '/webapi/ui/account/webauthn/begin', {});
        const response = await startRegistration({ optionsJSON: webauthn });
        await api('POST', '/webapi/ui/account/webauthn/finish', {
          response,
          name: String(d.get('keyName') ?? ''),
          proof: confirmation,
        });
        form.reset();
      },
      'Security key added.',
    );
  const confirmTotp = (e: Event) =>
    submit(
      e,
      async (form, d) => {
        const otp = String(d.get('otp') ?? '').trim();
        const name = String(d.get('appName') ?? '').trim();
        await api('POST', '/webapi/ui/account/totp/finish', { otp, name, proof: await proof(form) });
        setPendingTotp(undefined);
      },
      'Authenticator app added.',
    );
  const removeDevice = (e: Event, dev: Device) =>
    submit(
      e,
      async (form) => {
        await api('POST', '/webapi/ui/account/devices/remove', { id: dev.id, proof: await proof(form) });
        setRemoving(undefined);
      },
      `${dev.name} removed.`,
    );

  if (!acct)
    return error ? (
      <p class="error" role="alert">
        {error}
      </p>
    ) : (
      <p class="loading">Loading…</p>
    );
  const appCount = acct.devices.filter((d) => d.kind === 'totp').length;
  return (
    <section aria-labelledby="acct-title" class="stack">
      <h1 id="acct-title">Account: {acct.name}</h1>
      <p>
        Roles: {acct.roles.join(', ')}. Logins: {acct.logins.join(', ') || 'none'}.
        {acct.sso && ` Signs in through ${acct.sso}.`}
      </p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {note && (
        <p class="ok" role="status">
          {note}
        </p>
      )}
      <div class="card">
        <h2>Second factors</h2>
        <div class="table-wrap">
          <table className="cards" aria-label="Second factors">
            <thead>
              <tr>
                <th scope="col">Kind</th>
                <th scope="col">Name</th>
                <th scope="col">Added</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {acct.devices.map((d) => (
                <tr key={d.id}>
                  <td>{d.kind === 'totp' ? 'Authenticator app' : 'Security key'}</td>
                  <td>{d.name}</td>
                  <td class="muted">{d.addedAt ? new Date(d.addedAt).toLocaleDateString() : ''}</td>
                  <td>
                    <button type="button" class="danger" onClick={() => setRemoving(d)}>
                      Remove
                    </button>
                  </td>
                </tr>
              ))}
              {acct.devices.length === 0 && (
                <tr>
                  <td class="muted" colSpan={4}>
                    None yet.
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
        {removing && (
          <form aria-label={`Remove ${removing.name}`} onSubmit={(e) => removeDevice(e, removing)}>
            <p>Remove {removing.name}? You will no longer be able to sign in with it.</p>
            <ConfirmFactor id="remove" confirmWith={acct.confirmWith} />
            <div class="row">
              <button type="submit" class="danger">
                Remove {removing.name}
              </button>
              <button type="button" class="secondary" onClick={() => setRemoving(undefined)}>
                Cancel
              </button>
            </div>
          </form>
        )}
        {acct.secondFactor === 'otp' ? (
          <p class="muted" data-testid="no-keys">
            This cluster asks for a code from your authenticator app when you log in, so security keys are not offered.
          </p>
        ) : (
          <form aria-label="Add a security key" onSubmit={addKey}>
            <h3>Add a security key</h3>
            <label for="key-name">Key name</label>
            <input id="key-name" name="keyName" maxLength={64} placeholder="security key" />
            <ConfirmFactor id="add-key" confirmWith={acct.confirmWith} />
            <p>
              <button type="submit" class="secondary">
                Add a security key
              </button>
            </p>
          </form>
        )}
        {!pendingTotp && (
          <div class="row" style="margin-top:.8rem">
            <button
              type="button"
              class="secondary"
              onClick={() => act(async () => setPendingTotp(await apiOf(TotpOfferSchema, 'POST', '/webapi/ui/account/totp/begin', {})), '')}
            >
              Add an authenticator app
            </button>
          </div>
        )}
        {pendingTotp && (
          <form aria-label="Add an authenticator app" onSubmit={confirmTotp}>
            <h3>Add an authenticator app</h3>
            <label for="app-name">App name</label>
            <input
              id="app-name"
              name="appName"
              maxLength={64}
              placeholder={appCount ? `authenticator ${appCount + 1}` : 'authenticator'}
            />
            <p class="muted">Scan the code with the app (or enter the key by hand), then type the 6 digits it shows.</p>
            <Qr text={pendingTotp.uri} />
            <code class="secret">{pendingTotp.secret}</code>
            <label for="new-otp">Code from the new app</label>
            <input id="new-otp" name="otp" inputMode="numeric" autocomplete="one-time-code" maxLength={6} required />
            <ConfirmFactor id="totp" confirmWith={acct.confirmWith} />
            <div class="row">
              <button type="submit">Add the app</button>
              <button type="button" class="secondary" onClick={() => setPendingTotp(undefined)}>
                Cancel
              </button>
            </div>
          </form>
        )}
      </div>
      {acct.hasPassword && (
        <form class="card" aria-label="Change password" onSubmit={changePassword}>
          <h2>Change password</h2>
          <input type="hidden" name="username" autocomplete="username" value={acct.name} />
          <label for="oldPassword">Current password</label>
          <input id="oldPassword" name="oldPassword" type="password" autocomplete="current-password" required />
          <label for="newPassword">New password</label>
          <input id="newPassword" name="newPassword" type="password" autocomplete="new-password" minLength={12} required />
          <label for="confirm">Repeat the new password</label>
          <input id="confirm" name="confirm" type="password" autocomplete="new-password" minLength={12} required />
          <ConfirmFactor id="password" confirmWith={acct.confirmWith} skipPassword />
          <p>
            <button type="submit">Change password</button>
          </p>
        </form>
      )}
    </section>
  );
}
