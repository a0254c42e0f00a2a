// The invite page: posts the new password with the token from the URL to /webapi/signup (same origin only).
const form = document.getElementById('signup');
const error = document.getElementById('error');
const token = decodeURIComponent(location.pathname.split('/').pop() || '');

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  error.hidden = true;
  const password = form.password.value;
  if (password !== form.confirm.value) {
    error.textContent = 'The two passwords differ.';
    error.hidden = false;
    return;
  }
  const res = await fetch('/webapi/signup', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token, password }),
  });
  const body = await res.json();
  if (!res.ok) {
    error.textContent = body.error ? body.error.message : `Sign-up failed (${res.status}).`;
    error.hidden = false;
    return;
  }
  form.hidden = true;
  document.getElementById('done').hidden = false;
  document.getElementById('login-cmd').textContent = `tp login --proxy ${location.host} --user ${body.user}`;
  if (body.totpUri) {
    document.getElementById('totp').hidden = false;
    document.getElementById('totp-uri').textContent = body.totpUri;
  }
});
