// The call history: completed, missed, rejected and cancelled calls with their
// durations, newest first. Opening it marks the missed calls as seen.

import { commands, type CallRecord, type Contact } from "../bindings";
import { h } from "../dom";
import { errorText, formatDateTime, formatTime, msg, t } from "../i18n";
import { formatDuration } from "./call";

const SEEN_KEY = "duet.history-seen-at";

/** What the user reads for each outcome. */
const OUTCOME: Record<string, [string, string]> = {
  // [placed by us, received]
  completed: [msg("Outgoing call"), msg("Incoming call")],
  missed: [msg("No answer"), msg("Missed call")],
  rejected: [msg("Declined"), msg("Declined")],
  busy: [msg("Busy"), msg("Missed call (you were busy)")],
  cancelled: [msg("Cancelled"), msg("Missed call")],
  timeout: [msg("No answer"), msg("Missed call")],
};

/** A received call nobody answered. */
export function isMissed(call: CallRecord): boolean {
  return !call.outgoing && call.outcome !== "completed" && call.outcome !== "rejected";
}

/** Missed calls since the history was last opened (the badge). */
export function unseenMissed(calls: CallRecord[]): number {
  const seen = Number(localStorage.getItem(SEEN_KEY) ?? 0);
  return calls.filter((c) => isMissed(c) && (c.started_at ?? 0) > seen).length;
}

export interface HistoryOptions {
  /** Names for user ids. */
  contacts: Map<string, Contact>;
  /** An invitation from a `duet://` link that no longer rings: highlighted, with a note. */
  invite?: string | null;
  onBack: () => void;
  /** Call back: the user clicked a call's peer. */
  onCall: (peer: string, audioOnly: boolean) => void;
}

export function historyScreen(options: HistoryOptions): HTMLElement {
  const list = h("ol", { class: "history", id: "history", "aria-live": "polite" }, h("li", { class: "empty" }, t("Loading…")));
  const message = h("p", { class: "error", role: "alert", id: "history-error" });
  const notice = h("p", { class: "banner", id: "history-notice", hidden: true });
  const back = h("button", { type: "button", id: "history-back" }, t("Back"));
  back.addEventListener("click", options.onBack);
  void commands.history().then((result) => {
    if (result.status === "error") {
      message.textContent = errorText(result.error);
      list.replaceChildren();
      return;
    }
    localStorage.setItem(SEEN_KEY, String(Date.now()));
    const calls = result.data;
    list.replaceChildren(
      ...calls.map((call) => {
        const name = options.contacts.get(call.peer)?.display_name ?? call.peer;
        const [placed, received] = (OUTCOME[call.outcome] ?? [call.outcome, call.outcome]).map((text) => t(text));
        const when = formatDateTime(call.started_at ?? 0);
        const again = h("button", { type: "button", class: "call", "aria-label": t("Call {name} again", { name }) }, t("Call"));
        again.addEventListener("click", () => options.onCall(call.peer, !call.video));
        return h(
          "li",
          {
            class: `record${isMissed(call) ? " missed" : ""}${call.invite_id === options.invite ? " highlight" : ""}`,
            "data-outcome": call.outcome,
            "data-peer": call.peer,
            "data-invite": call.invite_id,
          },
          h("span", { class: "direction", "aria-hidden": "true" }, call.outgoing ? "↗" : "↙"),
          h(
            "span",
            { class: "who" },
            h("strong", {}, name),
            h("small", {}, `${call.outgoing ? placed : received} · ${call.video ? t("video") : t("audio")} · ${when}`),
          ),
          h("span", { class: "duration" }, call.outcome === "completed" ? formatDuration(call.duration_s * 1000) : ""),
          again,
        );
      }),
    );
    if (calls.length === 0) list.append(h("li", { class: "empty" }, t("No calls yet.")));
    if (options.invite) {
      const linked = calls.find((c) => c.invite_id === options.invite);
      const name = linked ? (options.contacts.get(linked.peer)?.display_name ?? linked.peer) : "";
      notice.hidden = false;
      notice.textContent = !linked
        ? t("That call is no longer ringing.")
        : isMissed(linked)
          ? t("Missed call from {name} at {time}.", { name, time: formatTime(linked.started_at ?? 0) })
          : t("That call with {name} is over.", { name });
    }
  });
  return h(
    "main",
    { class: "screen history-screen" },
    h("header", { class: "bar" }, h("h2", {}, t("History")), back),
    notice,
    message,
    list,
  );
}
