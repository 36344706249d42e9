import { useState } from "preact/hooks";
import { ApiError } from "../api";
import { confirmTotp, enrollTotp, logout, me } from "../store";

/** The user's menu: two-factor set-up and logging out. */
export function AccountMenu() {
  const user = me.value!;
  const [pending, setPending] = useState<{ secret: string; otpauth_uri: string } | null>(null);
  const [code, setCode] = useState("");
  const [error, setError] = useState("");

  async function act(f: () => Promise<void>) {
    setError("");
    try { await f(); } catch (e) { setError(e instanceof ApiError ? `${e.message} (${e.code})` : String(e)); }
  }

  return (
    <details class="account">
      <summary>{user.email}</summary>
      <div class="menu">
        <p>Two-factor login: {user.totp_enabled ? "on" : "off"}</p>
        {!user.totp_enabled && !pending && (
          <button type="button" onClick={() => act(async () => setPending(await enrollTotp()))}>Set up an authenticator</button>
        )}
        {!user.totp_enabled && pending && (
          <form onSubmit={(e) => { e.preventDefault(); void act(async () => { await confirmTotp(code.trim()); setPending(null); }); }}>
            <p>Add this key to your authenticator app: <code data-testid="totp-secret">{pending.secret}</code></p>
            <p><a href={pending.otpauth_uri}>Open in an authenticator app</a></p>
            <label>Code from the app
              <input inputMode="numeric" autoComplete="one-time-code" value={code} onInput={(e) => setCode((e.target as HTMLInputElement).value)} />
            </label>
            <button type="submit">Turn on two-factor login</button>
          </form>
        )}
        <p class="error" role="alert">{error}</p>
        <button type="button" onClick={() => void logout()}>Log out</button>
      </div>
    </details>
  );
}
