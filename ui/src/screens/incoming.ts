// The incoming-call window: small, on top of everything, opened by the app
// when a call rings while the main window is closed, minimized or behind
// others. Accepting brings the main window up with the call; the app closes
// this window when the ringing stops.

import { commands, events, type CallChanged } from "../bindings";
import { h } from "../dom";
import { errorText, t } from "../i18n";

export function incomingWindow(root: HTMLElement): void {
  const name = h("h2", { id: "incoming-peer" }, "…");
  const kind = h("p", { class: "call-status", id: "incoming-kind", role: "status" }, t("Incoming call"));
  const avatar = h("div", { class: "avatar", "aria-hidden": "true" }, "?");
  const message = h("p", { class: "error", role: "alert", id: "incoming-error" });
  const actions = h("div", { class: "ring-actions" });
  root.replaceChildren(h("main", { class: "screen incoming-window ring" }, avatar, name, kind, actions, message));

  const answer = (run: () => ReturnType<typeof commands.decline>) => async () => {
    const result = await run();
    if (result.status === "error") message.textContent = errorText(result.error);
  };
  const button = (id: string, label: string, cls: string, onClick: () => void) => {
    const b = h("button", { type: "button", id, class: cls }, label);
    b.addEventListener("click", onClick);
    return b;
  };
  const render = (call: CallChanged | null) => {
    if (!call || call.phase !== "ringing") {
      kind.textContent = t("The call is over.");
      actions.replaceChildren();
      return;
    }
    const video = call.call_type !== "audio";
    name.textContent = call.peer ?? t("Someone");
    avatar.textContent = (call.peer ?? "?").slice(0, 1).toUpperCase();
    kind.textContent = video ? t("Incoming video call") : t("Incoming audio call");
    actions.replaceChildren(
      video ? button("accept-video", t("Accept"), "accept", answer(() => commands.accept(false))) : "",
      button("accept-audio", video ? t("Audio only") : t("Accept"), "accept", answer(() => commands.accept(true))),
      button("decline", t("Decline"), "danger", answer(() => commands.decline())),
    );
    // Enter answers from the keyboard: the window opens with the focus on Accept.
    actions.querySelector("button")?.focus();
  };
  void events.callChanged.listen((event) => render(event.payload));
  void commands.currentCall().then(render);
  document.querySelector<HTMLElement>("#app")!.dataset.ready = "true";
}
