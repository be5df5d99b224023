// The app: signs in (from the keyring when remembered), then shows the contacts.

import "./style.css";
import { commands, events, type Account, type AppError } from "./bindings";
import { h, show } from "./dom";
import { loginScreen } from "./screens/login";
import { contactsScreen } from "./screens/contacts";

const app = document.querySelector<HTMLElement>("#app");
if (app) void start(app);

async function start(app: HTMLElement): Promise<void> {
  const root = h("div", { id: "screen" });
  app.replaceChildren(h("h1", { class: "brand" }, "Duet"), root);
  const info = await commands.appInfo();
  let closeScreen = () => {};

  const toLogin = (notice: AppError | null = null) => {
    closeScreen();
    closeScreen = () => {};
    show(root, loginScreen({ defaultServer: info.default_server, notice, onSignedIn: toContacts }));
  };
  const toContacts = (account: Account) => {
    closeScreen();
    const { screen, close } = contactsScreen({ account, onLogout: () => toLogin() });
    closeScreen = close;
    show(root, screen);
  };
  await events.signedOut.listen((event) => toLogin(event.payload.error));

  const resumed = await commands.resume();
  if (resumed.status === "ok" && resumed.data) toContacts(resumed.data);
  else toLogin(resumed.status === "error" ? resumed.error : null);
  app.dataset.ready = "true";
}
