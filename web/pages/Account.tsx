import { startRegistration } from '@simplewebauthn/browser';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.ts';
import { Qr } from '../qr.tsx';

interface AccountView {
  name: string;
  roles: string[];
  logins: string[];
  hasPassword: boolean;
  sso?: string;
  secondFactor: string;
  devices: { id: string; kind: 'totp' | 'webauthn'; name: string; addedAt?: string }[];
}

/** The user's own account: roles and logins, password change, and second factors to add or remove. */
export function Account() {
  const [acct, setAcct] = useState<AccountView | undefined>();
  const [error, setError] = useState('');
  const [note, setNote] = useState('');
  const [pendingTotp, setPendingTotp] = useState<{ secret: string; uri: string } | undefined>();
  const reload = () => api<AccountView>('GET', '/webapi/ui/account').then(setAcct, (e) => setError(e.message));
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

  const changePassword = (e: Event) => {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const d = new FormData(form);
    if (d.get('newPassword') !== d.get('confirm')) return setError('The two new passwords differ.');
    void act(async () => {
      await api('POST', '/webapi/ui/account/password', {
        oldPassword: String(d.get('oldPassword')),
        newPassword: String(d.get('newPassword')),
      });
      form.reset();
    }, 'Password changed.');
  };
  const addKey = () =>
    act(async () => {
      const name = prompt('Name for the new security key', 'security key') ?? '';
      const { webauthn } = await api<{ webauthn: never }>('POST', '/webapi/ui/account/webauthn/begin', {});
      const response = await startRegistration({ optionsJSON: webauthn });
      await api('POST', '/webapi/ui/account/webauthn/finish', { response, name });
    }, 'Security key added.');
  const confirmTotp = (e: Event) => {
    e.preventDefault();
    const otp = String(new FormData(e.target as HTMLFormElement).get('otp') ?? '').trim();
    void act(async () => {
      await api('POST', '/webapi/ui/account/totp/finish', { otp });
      setPendingTotp(undefined);
    }, 'Authenticator app added.');
  };

  if (!acct)
    return error ? (
      <p class="error" role="alert">
        {error}
      </p>
    ) : (
      <p class="loading">Loading…</p>
    );
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
        <table>
          <tbody>
            {acct.devices.map((d) => (
              <tr key={d.id}>
                <td>{d.kind === 'totp' ? 'Authenticator app' : 'Security key'}</td>
                <td>{d.name}</td>
                <td class="muted">{d.addedAt ? new Date(d.addedAt).toLocaleDateString() : ''}</td>
                <td>
                  <button
                    type="button"
                    class="danger"
                    onClick={() =>
                      confirm(`Remove ${d.name}?`) &&
                      act(() => api('DELETE', `/webapi/ui/account/devices/${d.id}`), `${d.name} removed.`)
                    }
                  >
                    Remove
                  </button>
                </td>
              </tr>
            ))}
            {acct.devices.length === 0 && (
              <tr>
                <td class="muted">None yet.</td>
              </tr>
            )}
          </tbody>
        </table>
        <div class="row" style="margin-top:.8rem">
          <button type="button" class="secondary" onClick={addKey}>
            Add a security key
          </button>
          <button
            type="button"
            class="secondary"
            onClick={() => act(async () => setPendingTotp(await api('POST', '/webapi/ui/account/totp/begin', {})), '')}
          >
            {acct.devices.some((d) => d.kind === 'totp') ? 'Replace the authenticator app' : 'Add an authenticator app'}
          </button>
        </div>
        {pendingTotp && (
          <form onSubmit={confirmTotp}>
            <p class="muted">Scan the code, then type the 6 digits the app shows.</p>
            <Qr text={pendingTotp.uri} />
            <code class="secret">{pendingTotp.secret}</code>
            <label for="new-otp">Code</label>
            <input id="new-otp" name="otp" inputMode="numeric" autocomplete="one-time-code" maxLength={6} required />
            <button type="submit">Confirm</button>
          </form>
        )}
      </div>
      {acct.hasPassword && (
        <form class="card" onSubmit={changePassword}>
          <h2>Change password</h2>
          <input type="hidden" name="username" autocomplete="username" value={acct.name} />
          <label for="oldPassword">Current password</label>
          <input id="oldPassword" name="oldPassword" type="password" autocomplete="current-password" required />
          <label for="newPassword">New password</label>
          <input id="newPassword" name="newPassword" type="password" autocomplete="new-password" minLength={12} required />
          <label for="confirm">Repeat the new password</label>
          <input id="confirm" name="confirm" type="password" autocomplete="new-password" minLength={12} required />
          <p>
            <button type="submit">Change password</button>
          </p>
        </form>
      )}
    </section>
  );
}
