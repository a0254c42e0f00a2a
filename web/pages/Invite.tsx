import { startRegistration } from '@simplewebauthn/browser';
import { useEffect, useState } from 'preact/hooks';
import { ProxyPingSchema, SignupDoneSchema, type SignupInfo, SignupInfoSchema } from '../../core/api/webSchemas.ts';
import { ApiError, apiOf, readable } from '../api.ts';
import { Qr } from '../qr.tsx';
import { RegistrationChallengeSchema } from '../webauthnOptions.ts';

type Info = SignupInfo;

/** What went wrong, in words: a used or expired link says what to do next. */
const message = (err: unknown) =>
  err instanceof ApiError && err.code === 'not_found' ? LINK_GONE : readable(err);

const LINK_GONE = 'This sign-up link is invalid, expired or already used.';

/** Sign-up from the one-time link of `tp users add`: choose a password, then enrol a TOTP app or a security key. */
export function Invite({ token }: { token: string }) {
  const [info, setInfo] = useState<Info | undefined>();
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState('');
  const [method, setMethod] = useState<'totp' | 'webauthn'>('totp');
  const [ownCa, setOwnCa] = useState(false);
  useEffect(() => {
    apiOf(ProxyPingSchema, 'GET', '/webapi/ping').then(
      (p) => setOwnCa(p.ownCa === true),
      () => setOwnCa(false),
    );
  }, []);
  useEffect(() => {
    apiOf(SignupInfoSchema, 'POST', '/webapi/signup/info', { token }).then(
      (i) => {
        setInfo(i);
        if (i.secondFactor === 'webauthn') setMethod('webauthn');
      },
      (e) => setError(message(e)),
    );
  }, [token]);

  const submit = async (e: Event) => {
    e.preventDefault();
    const data = new FormData(e.target as HTMLFormElement);
    const password = String(data.get('password') ?? '');
    if (password !== String(data.get('confirm') ?? '')) return setError('The two passwords differ.');
    if (password.length < 12) return setError('Use at least 12 characters.');
    setError('');
    setBusy(true);
    try {
      const body: Record<string, unknown> = { token, password };
      const sf = info?.secondFactor ?? 'off';
      if (sf !== 'off' && method === 'totp') body.otp = String(data.get('otp') ?? '').trim();
      if (sf !== 'off' && method === 'webauthn') {
        const { webauthn } = await apiOf(RegistrationChallengeSchema, 'POST', '/webapi/signup/webauthn', { token });
        body.webauthn = await startRegistration({ optionsJSON: webauthn });
        body.deviceName = String(data.get('deviceName') ?? '').trim() || 'security key';
      }
      const r = await apiOf(SignupDoneSchema, 'POST', '/webapi/signup', body);
      setDone(r.user);
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  };

  if (done) {
    return (
      <main>
        <div class="card center stack" role="status">
          <h1>Welcome, {done}</h1>
          <p class="ok">Your account is ready.</p>
          <a class="button" href="/web/login">
            Sign in
          </a>
          <p class="muted">
            From a terminal:{' '}
            <code data-testid="cli-hint">
              tp login --proxy {location.host} --user {done}
              {ownCa ? ' --insecure' : ''}
            </code>
          </p>
          {ownCa && (
            <p class="muted">
              The proxy's certificate is issued by the cluster's own authority, which your computer does not know:
              --insecure skips that check (or give the authority's certificate with --ca-cert FILE to verify it).
            </p>
          )}
        </div>
      </main>
    );
  }
  const sf = info?.secondFactor ?? 'off';
  return (
    <main>
      <form class="card center stack" onSubmit={submit} aria-labelledby="signup-title">
        <h1 id="signup-title">{info ? `Set up ${info.user}` : 'Sign up'}</h1>
        {info && (
          <div>
            <input type="hidden" name="username" autocomplete="username" value={info.user} />
            <label for="password">New password</label>
            <input id="password" name="password" type="password" autocomplete="new-password" minLength={12} required />
            <label for="confirm">Repeat the password</label>
            <input id="confirm" name="confirm" type="password" autocomplete="new-password" minLength={12} required />
            {sf === 'on' && (
              <fieldset class="row plain">
                <legend class="sr-only">Second factor</legend>
                <label class="row">
                  <input type="radio" name="method" checked={method === 'totp'} onChange={() => setMethod('totp')} />
                  Authenticator app
                </label>
                <label class="row">
                  <input
                    type="radio"
                    name="method"
                    checked={method === 'webauthn'}
                    onChange={() => setMethod('webauthn')}
                  />
                  Security key
                </label>
              </fieldset>
            )}
            {sf !== 'off' && method === 'totp' && info.totp && (
              <div>
                <h2>Authenticator app</h2>
                <p class="muted">Scan this code with an authenticator app, then type the 6 digits it shows.</p>
                <Qr text={info.totp.uri} />
                <p class="muted">
                  Or enter the key by hand: <code class="secret" data-testid="totp-secret">{info.totp.secret}</code>
                </p>
                <label for="otp">Code from the app</label>
                <input
                  id="otp"
                  name="otp"
                  inputMode="numeric"
                  autocomplete="one-time-code"
                  pattern="[0-9]{6}"
                  maxLength={6}
                  required
                />
              </div>
            )}
            {sf !== 'off' && method === 'webauthn' && (
              <div>
                <h2>Security key</h2>
                <label for="deviceName">Name of the key</label>
                <input id="deviceName" name="deviceName" placeholder="e.g. yubikey" maxLength={64} />
                <p class="muted">Your browser will ask you to touch the key when you continue.</p>
              </div>
            )}
          </div>
        )}
        {error && (
          <p class="error" role="alert" data-testid="signup-error">
            {error}
          </p>
        )}
        {error === LINK_GONE && (
          <p data-testid="link-gone-help">
            If you have set up your account already, <a href="/web/login">log in</a>. Otherwise ask an admin for a new
            link: they run tp users reset {'<your user name>'}.
          </p>
        )}
        {info && (
          <button type="submit" disabled={busy}>
            Create account
          </button>
        )}
      </form>
    </main>
  );
}
