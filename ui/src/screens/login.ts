// The login screen: server address, user name, password, "remember me", and
// the built-in server for a first try without any account.

import { commands, type Account, type AppError, type Managed } from "../bindings";
import { h } from "../dom";
import { errorText, t } from "../i18n";
import { details } from "../notice";

const LAST_SERVER = "duet.lastServer";
const LAST_USER = "duet.lastUser";

export interface LoginOptions {
  defaultServer: string | null;
  /** The administrator's policy: a locked server, no built-in server, no new accounts. */
  policy: Managed;
  /** Why the policy file cannot be used: nobody signs in until it is fixed. */
  policyError?: string | null;
  /** Shown above the form: why the user is here again (expired sign-in, lost session). */
  notice?: AppError | null;
  onSignedIn: (account: Account) => void;
  /** Opens "Check devices" (camera, microphone, speaker) before signing in. */
  onCheckDevices?: () => void;
}

export function loginScreen(options: LoginOptions): HTMLElement {
  const server = h("input", {
    id: "server",
    name: "server",
    type: "url",
    required: true,
    placeholder: "https://duet.example.com",
    autocomplete: "url",
  });
  const locked = options.policy.lock_server && options.policy.server !== null;
  server.value = locked ? (options.policy.server ?? "") : (localStorage.getItem(LAST_SERVER) ?? options.defaultServer ?? "");
  server.readOnly = locked;
  const user = h("input", { id: "user", name: "user", required: true, autocomplete: "username" });
  user.value = localStorage.getItem(LAST_USER) ?? "";
  const password = h("input", { id: "password", name: "password", type: "password", required: true, autocomplete: "current-password" });
  const remember = h("input", { id: "remember", name: "remember", type: "checkbox" });
  remember.checked = true;
  const createAccount = h("input", { id: "create-account", name: "create-account", type: "checkbox" });
  const submit = h("button", { type: "submit", class: "primary" }, t("Sign in"));
  const local = h("button", { type: "button", id: "use-local" }, t("Try it on this computer"));
  const message = h("p", { class: "error", role: "alert", id: "login-error" });
  const check = h("button", { type: "button", class: "link", id: "login-check-devices" }, t("Check your camera, microphone and speaker"));
  check.addEventListener("click", () => options.onCheckDevices?.());

  const fail = (error: AppError) => {
    message.textContent = errorText(error);
    message.dataset.code = error.code;
    // The technical detail (a library's own words) only when asked for.
    if (error.detail) message.append(details(error.detail));
    const field = error.code === "unauthorized" ? password : error.code === "bad_input" ? user : error.code === "unreachable" ? server : null;
    field?.focus();
  };
  if (options.notice) fail(options.notice);

  const busy = (on: boolean, label = t("Sign in")) => {
    for (const el of [server, user, password, remember, createAccount, submit, local]) el.disabled = on;
    submit.textContent = on ? t("Signing in…") : label;
  };

  const form = h(
    "form",
    { class: "card", id: "login-form", "aria-labelledby": "login-title" },
    h("h2", { id: "login-title" }, t("Sign in")),
    message,
    h("label", { for: "server" }, t("Server")),
    server,
    locked ? h("small", { class: "managed", id: "server-managed" }, t("Set by your administrator")) : null,
    h("label", { for: "user" }, t("User name")),
    user,
    h("label", { for: "password" }, t("Password")),
    password,
    h("label", { class: "check" }, remember, " ", t("Remember me on this computer")),
    options.policy.allow_registration ? h("label", { class: "check" }, createAccount, " ", t("Create this account (new user)")) : null,
    submit,
    options.policy.allow_local_server
      ? h("p", { class: "hint" }, t("No account yet?"), " ", local, " ", t("runs a private server on this computer, with a test contact to try things with."))
      : null,
  );
  if (options.policyError) {
    fail({ code: "policy", message: options.policyError });
    busy(true);
    submit.textContent = t("Sign in");
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.textContent = "";
    busy(true);
    const result = await commands.login({
      server: server.value,
      user_id: user.value,
      password: password.value,
      remember: remember.checked,
      create_account: createAccount.checked,
    });
    busy(false);
    if (result.status === "error") return fail(result.error);
    localStorage.setItem(LAST_SERVER, result.data.server);
    localStorage.setItem(LAST_USER, result.data.user_id);
    options.onSignedIn(result.data);
  });
  local.addEventListener("click", async () => {
    message.textContent = "";
    busy(true);
    const result = await commands.useLocalServer();
    busy(false);
    if (result.status === "error") return fail(result.error);
    options.onSignedIn(result.data);
  });
  return h("main", { class: "screen login" }, form, h("p", { class: "hint centered" }, check));
}
