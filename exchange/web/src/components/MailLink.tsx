import { useState } from "preact/hooks";
import { ApiError } from "../api";
import { confirmReset, mailLinkResult, resetToken } from "../store";

/** What a mailed link led to: "email verified", a changed password, or the server's refusal. */
export function MailLinkResult() {
  const result = mailLinkResult.value;
  if (!result) return null;
  return (
    <div class={result.ok ? "mail-result ok" : "mail-result error"}>
      <span role={result.ok ? "status" : "alert"}>{result.text}</span>
      <button type="button" aria-label="Dismiss" onClick={() => { mailLinkResult.value = null; }}>×</button>
    </div>
  );
}

/** The form a mailed #reset-password link opens: the new password twice. */
export function ResetPassword({ token }: { token: string }) {
  const [password, setPassword] = useState("");
  const [again, setAgain] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    setError("");
    if (password !== again) {
      setError("The two passwords differ.");
      return;
    }
    setBusy(true);
    try {
      await confirmReset(token, password);
    } catch (err) {
      setError(err instanceof ApiError ? `${err.message} (${err.code})` : String(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class="auth" onSubmit={submit} aria-label="Choose a new password">
      <h2>Choose a new password</h2>
      <label>New password
        <input type="password" autoComplete="new-password" required value={password}
               onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
      </label>
      <label>New password again
        <input type="password" autoComplete="new-password" required value={again}
               onInput={(e) => setAgain((e.target as HTMLInputElement).value)} />
      </label>
      <p class="error" role="alert">{error}</p>
      <button type="submit" class="primary" disabled={busy}>Set password</button>
      <button type="button" disabled={busy} onClick={() => { resetToken.value = null; }}>Cancel</button>
    </form>
  );
}
