import { useState } from 'preact/hooks';
import { sendJson, type Session } from '../api';
import { Problem } from '../components/Problem';

/**
 * Sign-in with an API key: the key goes once to POST /v1/session, which sets an httpOnly
 * cookie; the page keeps only the answer (role, name, CSRF token), never the key.
 */
export function SignIn(props: { onSignedIn(session: Session): void; notice?: string }) {
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const input = form.elements.namedItem('key') as HTMLInputElement;
    const key = input.value.trim();
    setBusy(true);
    setError(undefined);
    try {
      const session = await sendJson<Session>('POST', '/v1/session', { json: { key } });
      input.value = '';
      props.onSignedIn(session);
    } catch (failure) {
      setError(failure);
      input.focus();
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" class="page signin">
      <h1>Veil console</h1>
      {props.notice ? (
        <p class="problem" role="status">
          {props.notice}
        </p>
      ) : null}
      <p>Sign in with the API key your operator gave you (from <code>veil keys create</code>). The key is sent once; the browser keeps only a session cookie.</p>
      <form onSubmit={(event) => void submit(event)} class="card">
        <label for="key">API key</label>
        <input id="key" name="key" type="password" autoComplete="off" spellcheck={false} required aria-describedby="key-help" />
        <p id="key-help" class="hint">
          Starts with <code>veil_</code>.
        </p>
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        {error ? <Problem error={error} what="Sign-in refused" /> : null}
      </form>
    </main>
  );
}
