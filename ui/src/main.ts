// The app: signs in (from the keyring when remembered), shows the contacts, and
// takes over the window for a call from its first ring to its result.

import "./style.css";
import { commands, events, type Account, type AppError, type CallChanged, type Contact, type Language } from "./bindings";
import { h, show } from "./dom";
import { loginScreen } from "./screens/login";
import { contactsScreen } from "./screens/contacts";
import { callScreen, listenToCalls, type CallView } from "./screens/call";
import { renderBenchScreen } from "./screens/render-bench";
import { historyScreen } from "./screens/history";
import { incomingWindow } from "./screens/incoming";
import { settingsScreen } from "./screens/settings";
import { checksScreen } from "./screens/checks";
import { errorText, setLanguage, t } from "./i18n";

/** How long a link's invitation may take to ring (signing in, delivery) before it counts as over. */
const INVITE_WAIT_MS = 3000;

const app = document.querySelector<HTMLElement>("#app");
if (app) void start(app);

async function start(app: HTMLElement): Promise<void> {
  setLanguage((await commands.settings().catch(() => null))?.language ?? null);
  if (location.hash === "#incoming") return incomingWindow(app);
  const root = h("div", { id: "screen" });
  app.replaceChildren(h("h1", { class: "brand" }, "Duet"), root);
  const info = await commands.appInfo();
  if (info.render_bench) {
    show(root, renderBenchScreen(info.gpu));
    app.dataset.ready = "true";
    return;
  }
  let closeScreen = () => {};
  let account: Account | null = null;
  let call: CallView | null = null;
  const known = new Map<string, Contact>();

  const toLogin = (notice: AppError | null = null) => {
    closeScreen();
    closeScreen = () => {};
    call = null;
    account = null;
    const onCheckDevices = () => toChecks(null, () => toLogin());
    const managed = { policy: info.policy, policyError: info.policy_error };
    show(root, loginScreen({ defaultServer: info.default_server, ...managed, notice, onSignedIn: toContacts, onCheckDevices }));
  };
  // "Check devices", from the login screen (signed out), the settings or after a call with a device problem.
  const toChecks = (signedIn: Account | null, back: () => void) => {
    closeScreen();
    const checks = checksScreen({ signedIn: signedIn !== null, gpu: info.gpu, onBack: back, echoUser: signedIn?.echo_user });
    closeScreen = checks.close;
    show(root, checks.screen);
  };
  const toSettings = (signedIn: Account) => {
    closeScreen();
    closeScreen = () => {};
    const onCheckDevices = () => toChecks(signedIn, () => toSettings(signedIn));
    const onLanguage = (language: Language | null) => {
      setLanguage(language);
      toSettings(signedIn);
    };
    show(root, settingsScreen({ onBack: () => toContacts(signedIn), onCheckDevices, onLanguage }));
  };
  const toContacts = (signedIn: Account) => {
    closeScreen();
    call = null;
    account = signedIn;
    const { screen, close } = contactsScreen({
      account: signedIn,
      onLogout: () => toLogin(),
      onContacts: (list) => list.forEach((c) => known.set(c.user_id, c)),
      onHistory: () => toHistory(signedIn),
      onSettings: () => toSettings(signedIn),
    });
    closeScreen = close;
    show(root, screen);
    if (pendingInvite) openInvite(pendingInvite);
  };
  // A duet://invite/<id> link: the call shows if it still rings (the server delivers
  // pending invitations at sign-in), else the history shows it as missed.
  let pendingInvite: string | null = null;
  const openInvite = (inviteId: string) => {
    pendingInvite = inviteId;
    if (!account) return; // After signing in.
    const signedIn = account;
    setTimeout(() => {
      if (pendingInvite !== inviteId) return;
      pendingInvite = null;
      if (!call && account === signedIn) toHistory(signedIn, inviteId);
    }, INVITE_WAIT_MS);
  };
  const toHistory = (signedIn: Account, invite: string | null = null) => {
    closeScreen();
    closeScreen = () => {};
    const back = () => toContacts(signedIn);
    const callAgain = async (peer: string, audioOnly: boolean) => {
      const result = await commands.call(peer, audioOnly);
      if (result.status === "error") document.querySelector("#history-error")!.textContent = errorText(result.error);
    };
    show(root, historyScreen({ contacts: known, invite, onBack: back, onCall: (peer, audio) => void callAgain(peer, audio) }));
  };
  const onCall = (change: CallChanged) => {
    if (call) return call.update(change);
    // The link's own call rings: it has landed (another call that rings meanwhile shows too,
    // and the link's call, if it ended, is left to the history).
    if (change.phase === "ringing" && change.invite_id === pendingInvite) pendingInvite = null;
    if ((change.phase !== "calling" && change.phase !== "ringing") || !change.peer) return;
    const contact = known.get(change.peer);
    const echo = account?.echo_user === change.peer;
    closeScreen();
    const signedIn = account;
    call = callScreen({
      change,
      peerName: contact?.display_name ?? (echo ? t("Echo test call") : change.peer),
      selfName: account?.user_id ?? "",
      peerOffline: contact?.status === "offline",
      gpu: info.gpu,
      onDone: () => {
        if (call && account) toContacts(account);
      },
      onCheckDevices: signedIn ? () => {
        if (call && account === signedIn) toChecks(signedIn, () => toContacts(signedIn));
      } : undefined,
    });
    closeScreen = call.close;
    show(root, call.screen);
  };
  await listenToCalls();
  await events.signedOut.listen((event) => toLogin(event.payload.error));
  await events.callChanged.listen((event) => onCall(event.payload));
  await events.inviteLinkOpened.listen((event) => openInvite(event.payload.invite_id));
  // A missed-call notification was opened: its history, unless a call holds the window.
  await events.historyRequested.listen(() => {
    if (account && !call) toHistory(account);
  });
  // A link that opened Duet, before anything listened.
  const link = await commands.takeInviteLink().catch(() => null);
  if (link) pendingInvite = link;

  const resumed = await commands.resume();
  if (resumed.status === "ok" && resumed.data) toContacts(resumed.data);
  else toLogin(resumed.status === "error" ? resumed.error : null);
  app.dataset.ready = "true";
}
