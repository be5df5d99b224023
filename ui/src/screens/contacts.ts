// The contact list: presence dots that update live, search, add and remove.

import { commands, events, type Account, type AppError, type Contact, type Presence } from "../bindings";
import { h } from "../dom";
import { errorText, msg, t } from "../i18n";
import { notice } from "../notice";
import { unseenMissed } from "./history";

const PRESENCE_LABEL: Record<Presence, string> = { online: msg("Online"), busy: msg("In a call"), offline: msg("Offline") };
const presence = (status: Presence) => t(PRESENCE_LABEL[status]);
/** Online first, then busy, then offline; by name within each. */
const PRESENCE_ORDER: Record<Presence, number> = { online: 0, busy: 1, offline: 2 };

export interface ContactsOptions {
  account: Account;
  onLogout: () => void;
  /** The list as loaded (main.ts names the peer of an incoming call with it). */
  onContacts?: (contacts: Contact[]) => void;
  onHistory?: () => void;
  onSettings?: () => void;
}

/** The system's problems are said once per run of the app, not at every return to the contacts. */
let noticesShown = false;

export function contactsScreen(options: ContactsOptions): { screen: HTMLElement; close: () => void } {
  let contacts: Contact[] = [];
  const list = h("ul", { class: "contacts", id: "contacts", "aria-live": "polite" });
  const search = h("input", { id: "search", type: "search", placeholder: t("Search contacts"), "aria-label": t("Search contacts") });
  const newContact = h("input", { id: "new-contact", placeholder: t("User name"), "aria-label": t("User name to add") });
  const add = h("button", { type: "submit" }, t("Add"));
  const message = h("p", { class: "error", role: "alert", id: "contacts-error" });
  const banner = h("p", { class: "banner", id: "connection", hidden: true });
  const logout = h("button", { type: "button", id: "logout" }, t("Log out"));
  const badge = h("span", { class: "badge", id: "missed-badge", hidden: true });
  const history = h("button", { type: "button", id: "open-history" }, t("History"), " ", badge);
  history.addEventListener("click", () => options.onHistory?.());
  const settings = h("button", { type: "button", id: "open-settings" }, t("Settings"));
  settings.addEventListener("click", () => options.onSettings?.());
  void commands.history().then((result) => {
    if (result.status === "error") return;
    const missed = unseenMissed(result.data);
    badge.hidden = missed === 0;
    badge.textContent = String(missed);
    // The name a screen reader says starts with what is seen ("History 2"), then says what the number is.
    history.setAttribute("aria-label", missed ? `${t("History")} ${t("{count} missed", { count: missed })}` : t("History"));
  });

  const fail = (error: AppError) => {
    message.textContent = errorText(error);
    message.dataset.code = error.code;
  };
  const notices = h("div", { class: "notices", id: "system-notices" });
  if (options.account.warning) notices.append(notice(options.account.warning, { id: "sign-in-warning" }));
  if (!noticesShown) {
    noticesShown = true;
    void commands.systemNotices().then((found) => found.forEach((n) => notices.append(notice(n))), () => {});
  }
  // The server's echo user answers at once with our own picture and voice.
  const echo = options.account.echo_user;
  const testCall = () => {
    const b = h("button", { type: "button", class: "test-call", "aria-label": t("Make a test call: hear and see yourself") }, t("Make a test call"));
    b.addEventListener("click", async () => {
      message.textContent = "";
      const result = await commands.call(echo!, false);
      if (result.status === "error") fail(result.error);
    });
    return b;
  };
  const setContacts = (list: Contact[]) => {
    contacts = list;
    options.onContacts?.(list);
  };
  const render = () => {
    const query = search.value.trim().toLowerCase();
    const shown = contacts
      .filter((c) => !query || c.user_id.includes(query) || c.display_name.toLowerCase().includes(query))
      .sort((a, b) => PRESENCE_ORDER[a.status] - PRESENCE_ORDER[b.status] || a.display_name.localeCompare(b.display_name));
    list.replaceChildren(
      ...shown.map((contact) => {
        const remove = h("button", { type: "button", class: "remove", "aria-label": t("Remove {name}", { name: contact.display_name }) }, t("Remove"));
        remove.addEventListener("click", async () => {
          const result = await commands.removeContact(contact.user_id);
          if (result.status === "error") return fail(result.error);
          setContacts(result.data);
          render();
        });
        const call = (audioOnly: boolean) => async () => {
          message.textContent = "";
          const result = await commands.call(contact.user_id, audioOnly);
          if (result.status === "error") fail(result.error);
        };
        const videoCall = h("button", { type: "button", class: "call video", "aria-label": t("Video call {name}", { name: contact.display_name }) }, t("Video"));
        const audioCall = h("button", { type: "button", class: "call audio", "aria-label": t("Audio call {name}", { name: contact.display_name }) }, t("Audio"));
        videoCall.addEventListener("click", call(false));
        audioCall.addEventListener("click", call(true));
        return h(
          "li",
          { class: "contact", "data-user": contact.user_id, "data-status": contact.status },
          h("span", { class: `dot ${contact.status}`, title: presence(contact.status) }),
          h(
            "span",
            { class: "who" },
            h("strong", {}, contact.display_name),
            h("small", {}, `${contact.user_id} · ${presence(contact.status)}`),
          ),
          videoCall,
          audioCall,
          remove,
        );
      }),
    );
    if (shown.length === 0) {
      const none = contacts.length === 0;
      list.append(h("li", { class: "empty" }, none ? t("No contacts yet: add someone by their user name.") : t("Nobody matches your search."),
        none && echo ? h("span", { class: "empty-test" }, " ", t("Or check your camera and microphone first:"), " ", testCall()) : null));
    }
  };
  search.addEventListener("input", render);

  const form = h("form", { class: "add", id: "add-contact" }, newContact, add);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.textContent = "";
    add.disabled = true;
    const result = await commands.addContact(newContact.value);
    add.disabled = false;
    if (result.status === "error") return fail(result.error);
    setContacts(result.data);
    newContact.value = "";
    render();
  });
  logout.addEventListener("click", async () => {
    const result = await commands.logout();
    if (result.status === "error") return fail(result.error);
    options.onLogout();
  });

  const unlisten: Promise<() => void>[] = [
    events.presenceChanged.listen((event) => {
      const contact = contacts.find((c) => c.user_id === event.payload.user_id);
      if (!contact) return;
      contact.status = event.payload.status;
      render();
    }),
    events.connectionChanged.listen((event) => {
      banner.hidden = event.payload.online;
      banner.textContent = event.payload.online ? "" : t("Connection to the server lost; reconnecting…");
    }),
  ];

  void commands.contacts().then((result) => {
    if (result.status === "error") return fail(result.error);
    setContacts(result.data);
    render();
  });

  const where = options.account.local ? t("on this computer") : t("on {server}", { server: options.account.server });
  const screen = h(
    "main",
    { class: "screen contacts-screen" },
    h(
      "header",
      { class: "bar" },
      h("span", { id: "me" }, h("strong", {}, options.account.user_id), h("small", {}, ` ${where}`)),
      h("span", { class: "actions" }, echo ? h("span", { id: "test-call" }, testCall()) : null, history, settings, logout),
    ),
    banner,
    notices,
    message,
    search,
    list,
    form,
  );
  return { screen, close: () => unlisten.forEach((u) => void u.then((f) => f())) };
}
