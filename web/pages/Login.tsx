import { startAuthentication } from '@simplewebauthn/browser';
import { useEffect, useState } from 'preact/hooks';
import { type ProxyPing, ProxyPingSchema, SsoChoicesSchema, WebSessionViewSchema } from '../../core/api/webSchemas.ts';
import { ApiError, apiOf, type Session } from '../api.ts';
import { AuthenticationChallengeSchema } from '../webauthnOptions.ts';

type Ping = ProxyPing;

/** "14:05, in 15 minutes" (local time; the date too when it is not today). */
function whenLocal(at: number, now: number): string {
  const d = new Date(at);
  const sameDay = d.toDateString() === new Date(now).toDateString();
  const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  const minutes = Math.max(1, Math.ceil((at - now) / 60_000));
  const inWords = minutes < 120 ? `${minutes} minute${minutes === 1 ? '' : 's'}` : `${Math.round(minutes / 60)} hours`;
  return `${sameDay ? time : `${d.toLocaleDateString()} ${time}`}, in ${inWords}`;
}

/** The sentence for a locked account: until when (local time) after failed logins, or an admin's lock and why. */
function lockedSentence(message: string, now: number): string {
  const until = /locked until (\d{4}-\d\d-\d\dT[\d:.]+Z)/.exec(message)?.[1];
  if (until && !Number.isNaN(Date.parse(until))) {
    return `This account is locked after too many failed logins, until ${whenLocal(Date.parse(until), now)}. Wait until then or ask an admin to unlock it.`;
  }
  const reason = /is locked: (.+)$/.exec(message)?.[1];
  return `This account is locked${reason ? `: ${reason.replace(/\.$/, '')}` : ' by an administrator'}. Ask an admin to unlock it.`;
}

/** Words for a failed login; a locked account gets its own sentence. */
function explain(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.code === 'locked') return lockedSentence(err.message, Date.now());
    if (err.code === 'limit_exceeded') return err.message;
    return err.message.charAt(0).toUpperCase() + err.message.slice(1);
  }
  if (err instanceof Error && err.name === 'NotAllowedError') return 'The security key request was cancelled or timed out.';
  return err instanceof Error ? err.message : String(err);
}

/** The login page: user name and password, then a TOTP code or a security key, as the cluster asks. */
export function Login({ onLogin, notice }: { onLogin: (s: Session) => void; notice?: string }) {
  const [ping, setPing] = useState<Ping | undefined>();
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const [sso, setSso] = useState<{ name: string; kind: string }[]>([]);
  // A notice ("You have logged out.") is about the last visit: it goes once the person tries again.
  const [note, setNote] = useState(notice ?? '');
  useEffect(() => setNote(notice ?? ''), [notice]);
  useEffect(() => {
    apiOf(ProxyPingSchema, 'GET', '/webapi/ping').then(setPing, (e) => setError(explain(e)));
    apiOf(SsoChoicesSchema, 'GET', '/webapi/sso/connectors').then(setSso, () => setSso([]));
  }, []);
  const sf = ping?.secondFactor ?? 'off';

  const submit = async (e: Event, withKey: boolean) => {
    e.preventDefault();
    const form = (e.target as HTMLElement).closest('form') as HTMLFormElement;
    const data = new FormData(form);
    const username = String(data.get('username') ?? '').trim();
    const password = String(data.get('password') ?? '');
    const otp = String(data.get('otp') ?? '').trim();
    setError('');
    setNote('');
    setBusy(true);
    try {
      let s: Session;
      if (withKey) {
        const { webauthn } = await apiOf(AuthenticationChallengeSchema, 'POST', '/webapi/sessions/challenge', { username, password });
        const assertion = await startAuthentication({ optionsJSON: webauthn });
        s = await apiOf(WebSessionViewSchema, 'POST', '/webapi/sessions', { username, password, webauthn: assertion });
      } else {
        s = await apiOf(WebSessionViewSchema, 'POST', '/webapi/sessions', {
          username,
          password,
          ...(otp ? { otp } : {}),
        });
      }
      onLogin(s);
    } catch (err) {
      setError(explain(err));
      (form.elements.namedItem('otp') as HTMLInputElement | null)?.select();
    } finally {
      setBusy(false);
    }
  };

  return (
    <main>
      <form class="card center stack" onSubmit={(e) => submit(e, false)} aria-labelledby="login-title">
        <h1 id="login-title">Log in{ping ? ` to ${ping.cluster}` : ''}</h1>
        {note && (
          <p class="muted" role="status" data-testid="login-notice">
            {note}
          </p>
        )}
        <div>
          <label for="username">User name</label>
          <input id="username" name="username" autocomplete="username" required autofocus />
          <label for="password">Password</label>
          <input id="password" name="password" type="password" autocomplete="current-password" required />
          {(sf === 'otp' || sf === 'on') && (
            <>
              <label for="otp">Authenticator code</label>
              <input
                id="otp"
                name="otp"
                inputMode="numeric"
                autocomplete="one-time-code"
                pattern="[0-9]{6}"
                maxLength={6}
                placeholder="6 digits"
              />
            </>
          )}
        </div>
        {error && (
          <p class="error" role="alert" data-testid="login-error">
            {error}
          </p>
        )}
        <div class="row">
          <button type="submit" disabled={busy}>
            Log in
          </button>
          {(sf === 'webauthn' || sf === 'on') && (
            <button type="button" class="secondary" disabled={busy} onClick={(e) => submit(e, true)}>
              Log in with a security key
            </button>
          )}
        </div>
        {sso.length > 0 && (
          <div class="stack" data-testid="sso">
            <p class="or">or</p>
            {sso.map((c) => (
              <a key={c.name} class="button secondary" href={`/webapi/sso/web/${encodeURIComponent(c.name)}`}>
                Sign in with {c.name}
                <span class="muted"> ({c.kind === 'github' ? 'GitHub' : 'OpenID Connect'})</span>
              </a>
            ))}
          </div>
        )}
      </form>
    </main>
  );
}
