import { useRef, useState } from "preact/hooks";
import { ApiError } from "../api";
import { login, register } from "../store";

/** Log in (with a TOTP code when the account has two-factor on) or sign up. */
export function Auth() {
  const [mode, setMode] = useState<"login" | "register">("login");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [totp, setTotp] = useState("");
  const [needTotp, setNeedTotp] = useState(false);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const totpRef = useRef<HTMLInputElement>(null);

  async function submit(e: Event) {
    e.preventDefault();
    setError("");
    setBusy(true);
    try {
      if (mode === "register") await register(email.trim(), password);
      else await login(email.trim(), password, needTotp ? totp.trim() : undefined);
    } catch (err) {
      if (err instanceof ApiError && err.code === "TOTP_REQUIRED") {
        setNeedTotp(true);
        setError("Enter the 6-digit code from your authenticator app.");
        setTimeout(() => totpRef.current?.focus(), 0);
      } else {
        setError(err instanceof ApiError ? `${err.message} (${err.code})` : String(err));
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <div class="auth">
      <div class="tabs" role="group" aria-label="Account">
        <button type="button" aria-pressed={mode === "login"} onClick={() => { setMode("login"); setError(""); }}>Log in</button>
        <button type="button" aria-pressed={mode === "register"} onClick={() => { setMode("register"); setError(""); }}>Sign up</button>
      </div>
      <form onSubmit={submit} aria-label={mode === "login" ? "Log in" : "Sign up"}>
        <label>Email
          <input type="email" autoComplete="username" required value={email}
                 onInput={(e) => setEmail((e.target as HTMLInputElement).value)} />
        </label>
        <label>Password
          <input type="password" required minLength={mode === "register" ? 10 : undefined}
                 autoComplete={mode === "login" ? "current-password" : "new-password"} value={password}
                 onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
        </label>
        {mode === "login" && needTotp && (
          <label>Authenticator code
            <input ref={totpRef} inputMode="numeric" autoComplete="one-time-code" pattern="[0-9]{6}" required
                   value={totp} onInput={(e) => setTotp((e.target as HTMLInputElement).value)} />
          </label>
        )}
        {mode === "register" && <p class="hint">At least 10 characters.</p>}
        <p class="error" role="alert">{error}</p>
        <button type="submit" class="primary" disabled={busy}>{mode === "login" ? "Log in" : "Create account"}</button>
      </form>
    </div>
  );
}
