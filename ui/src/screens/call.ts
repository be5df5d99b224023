// One call from the first ring to its result: outgoing (ringback, cancel),
// incoming (accept with video or audio only, decline), in call (remote big and
// local small, swap and drag, controls, quality of both sides, duration, the
// peer's mute indicators, chat, a poor-network warning) and how it ended.

import {
  commands,
  events,
  type AppError,
  type CallChanged,
  type CallStats,
  type Devices,
  type MediaOff,
  type MediaSent,
  type Switch,
} from "../bindings";
import { h } from "../dom";
import { errorText, msg, t } from "../i18n";
import { receiveVideo, VideoSurface, type Frame } from "../video";
import { beautyControls } from "./settings";

export interface CallOptions {
  /** The first change of this call (calling or ringing). */
  change: CallChanged;
  /** The peer's name as the contact list knows it. */
  peerName: string;
  /** This side's name, for its tile when it sends no video. */
  selfName: string;
  /** The peer was offline when we called: the server sent them a notification. */
  peerOffline: boolean;
  /** The webview draws with a real GPU (`AppInfo.gpu`). */
  gpu: boolean;
  /** The result was shown: back to the contacts. */
  onDone: () => void;
  /** The user asked for the device checks after this call (a device failed in it). */
  onCheckDevices?: () => void;
}

/** How long the result of a call stays on screen. */
const RESULT_MS = 2500;
/** Seed 004's scale: above this the network is poor. */
const POOR_QUALITY = 3;

export function formatDuration(ms: number): string {
  const total = Math.floor(ms / 1000);
  const [hours, minutes, seconds] = [Math.floor(total / 3600), Math.floor(total / 60) % 60, total % 60];
  const two = (n: number) => String(n).padStart(2, "0");
  return hours > 0 ? `${hours}:${two(minutes)}:${two(seconds)}` : `${two(minutes)}:${two(seconds)}`;
}

/** What the user reads when a call is over. */
export function resultText(change: CallChanged, name: string): string {
  const outgoing = change.direction !== "incoming";
  const lasted = change.duration_ms ? ` (${formatDuration(change.duration_ms)})` : "";
  if (change.phase === "failed") {
    if (change.reason === "signaling_lost") return t("The connection to the server was lost; the call ended.");
    if (change.reason === "media_failure") return t("The call could not connect: {why}.", { why: change.detail ?? t("the network blocked it") });
    return t("The call could not be placed: {why}.", { why: change.detail ?? t("the server refused it") });
  }
  switch (change.reason) {
    case "rejected":
      return outgoing ? t("{name} declined the call.", { name }) : t("You declined the call.");
    case "busy":
      return outgoing ? t("{name} is in another call. Try again later.", { name }) : t("Missed call from {name}.", { name });
    case "test_line_busy":
      return t("The test line is busy. Try again in a minute.");
    case "timeout":
      return outgoing ? t("{name} did not answer.", { name }) : t("Missed call from {name}.", { name });
    case "cancelled":
      return outgoing ? t("Call cancelled.") : t("Missed call from {name}.", { name });
    case "answered_elsewhere":
      return t("Answered on another device.");
    case "network_lost":
      return t("The connection to {name} was lost; the call ended{lasted}.", { name, lasted });
    case "remote_hangup":
      return t("{name} hung up{lasted}.", { name, lasted });
    default:
      return t("Call ended{lasted}.", { lasted });
  }
}

/** Why a side sends no video, in a line under its initial. */
const VIDEO_OFF: Record<MediaOff, string> = {
  off: msg("Camera off"),
  no_device: msg("No camera found"),
  in_use: msg("Camera is used by another app"),
  not_allowed: msg("Duet may not use the camera"),
  failed: msg("The camera could not start"),
};
/** Why a side sends no sound. */
const AUDIO_OFF: Record<MediaOff, string> = {
  off: msg("Muted"),
  no_device: msg("No microphone found"),
  in_use: msg("Microphone is used by another app"),
  not_allowed: msg("Duet may not use the microphone"),
  failed: msg("The microphone could not start"),
};

/** Up to two letters for a tile: "Alice Smith" → "AS", "bob" → "B". */
export function initials(name: string): string {
  const words = name.trim().split(/[\s._-]+/).filter(Boolean);
  return words.slice(0, 2).map((w) => [...w][0]!.toUpperCase()).join("") || "?";
}

/**
 * What covers a video view when its side sends no video (the initial and why),
 * and a microphone badge when it sends no sound. It lies over the canvas of its
 * feed and follows it when the views swap or the small one moves.
 */
function feedTile(canvas: HTMLCanvasElement, name: string, id: string) {
  const reason = h("span", { class: "why" });
  const cover = h("div", { class: "cover", id: `${id}-camera-off`, hidden: true },
    h("div", { class: "avatar" }, initials(name)), h("strong", {}, name), reason);
  const mic = h("span", { class: "mic-off", id: `${id}-mic-off`, hidden: true });
  const el = h("div", { class: "feed-tile", "data-feed": canvas.dataset.feed, hidden: true }, cover, mic);
  const place = () => {
    el.classList.toggle("big", canvas.classList.contains("big"));
    el.classList.toggle("small", canvas.classList.contains("small"));
    el.dataset.corner = canvas.dataset.corner ?? "";
    el.hidden = cover.hidden && mic.hidden;
  };
  return {
    el,
    place,
    set(media: MediaSent, expectVideo: boolean) {
      const noVideo = expectVideo && !media.video;
      const [whyVideo, whyAudio] = [media.video_off ?? "off", media.audio_off ?? "off"];
      cover.hidden = !noVideo;
      cover.dataset.reason = noVideo ? whyVideo : "";
      reason.textContent = noVideo ? t(VIDEO_OFF[whyVideo]) : "";
      mic.hidden = media.audio;
      mic.dataset.reason = media.audio ? "" : whyAudio;
      mic.textContent = media.audio ? "" : t(AUDIO_OFF[whyAudio]);
      mic.setAttribute("aria-label", mic.textContent);
      place();
    },
  };
}

/** Bars for a quality of 1 (excellent, 5 bars) to 6 (down, none); 0 is unknown. */
function bars(label: string, id: string): { el: HTMLElement; set: (quality: number | null) => void } {
  const el = h("span", { class: "quality", id, role: "img" }, h("small", {}, label), ...[1, 2, 3, 4, 5].map(() => h("i")));
  const NAMES = [msg("unknown"), msg("excellent"), msg("good"), msg("fair"), msg("poor"), msg("very poor"), msg("down")];
  const shown = {
    el,
    set(quality: number | null) {
      const q = quality ?? 0;
      el.dataset.quality = String(q);
      el.title = `${label}: ${t(NAMES[q] ?? "unknown")}`;
      el.setAttribute("aria-label", el.title);
      const lit = q === 0 ? 0 : Math.max(0, 6 - q);
      el.querySelectorAll("i").forEach((bar, i) => bar.classList.toggle("on", i < lit));
    },
  };
  shown.set(null);
  return shown;
}

/** Puts the focus on the first button of `box` once it is on screen (the screen may be added after). */
function focusFirst(box: HTMLElement) {
  requestAnimationFrame(() => box.querySelector<HTMLElement>("button:not([disabled]):not([hidden])")?.focus());
}

/** What the call on screen does with the engine's events. */
interface CallHandlers {
  stats: (stats: CallStats) => void;
  peerMedia: (media: MediaSent) => void;
  /** The peer's connection to the server dropped (`false`) or came back. */
  peerConnection: (online: boolean) => void;
  localMedia: (media: MediaSent) => void;
  chat: (text: string) => void;
  delivered: (id: number) => void;
  failed: (id: number, reason: string) => void;
  problem: (problem: { code: string | null; message: string }) => void;
  verification: (code: string) => void;
  /** Media flows (`connected`), or had flowed and is finding its way back (`reconnecting`). */
  media: (connected: boolean, reconnecting: boolean) => void;
}
let shownCall: CallHandlers | null = null;

/**
 * Listens to the call's events once, for every call to come (main.ts, before
 * the first call). A screen's own listeners would be up only after a round
 * trip to the app, and the echo user answers within milliseconds: the first
 * camera error and media state came before them and were lost.
 */
export async function listenToCalls(): Promise<void> {
  await Promise.all([
    events.callStats.listen((e) => shownCall?.stats(e.payload)),
    events.peerMedia.listen((e) => shownCall?.peerMedia(e.payload)),
    events.peerConnection.listen((e) => shownCall?.peerConnection(e.payload.online)),
    events.localMedia.listen((e) => shownCall?.localMedia(e.payload)),
    events.chatReceived.listen((e) => shownCall?.chat(e.payload.text)),
    events.chatDelivered.listen((e) => shownCall?.delivered(e.payload.id)),
    events.chatFailed.listen((e) => shownCall?.failed(e.payload.id, errorText(e.payload))),
    events.callProblem.listen((e) => shownCall?.problem(e.payload)),
    events.verification.listen((e) => shownCall?.verification(e.payload.code)),
    events.mediaChanged.listen((e) => shownCall?.media(e.payload.connected, e.payload.reconnecting)),
  ]);
}

export interface CallView {
  screen: HTMLElement;
  /** The call's next state (main.ts listens for all of them, so none is missed). */
  update: (change: CallChanged) => void;
  close: () => void;
}

export function callScreen(options: CallOptions): CallView {
  const name = options.peerName;
  let change = options.change;
  const video = change.call_type !== "audio";
  const cleanups: (() => void)[] = [];

  const status = h("p", { class: "call-status", id: "call-status" });
  // What a screen reader says as the call goes on (one polite live region for the whole call).
  const announcer = h("p", { class: "sr-only", id: "call-announce", role: "status" });
  const announce = (text: string) => {
    // A region filled as it is added is not read: the text comes a moment after.
    setTimeout(() => (announcer.textContent = text), 50);
  };
  const problemText = h("span");
  const checkLater = h("button", { type: "button", class: "link", id: "check-devices-later", hidden: true }, t("Check devices after the call"));
  const problem = h("p", { class: "error", role: "alert", id: "call-error", hidden: true }, problemText, " ", checkLater);
  checkLater.addEventListener("click", () => {
    wantsChecks = true;
    checkLater.textContent = t("The device checks open when the call ends.");
    checkLater.disabled = true;
  });
  let wantsChecks = false;
  const avatar = h("div", { class: "avatar", "aria-hidden": "true" }, initials(name));
  const title = h("h2", { id: "call-peer" }, name);
  const showProblem = (error: AppError | { message: string; code: string | null }) => {
    problemText.textContent = errorText(error);
    problem.dataset.code = error.code ?? "";
    problem.hidden = !problemText.textContent;
    // A device that failed (the seed's -13xx codes): the checks say what to do about it.
    checkLater.hidden = !(error.code?.startsWith("-13") && options.onCheckDevices);
  };
  const act = async (run: () => Promise<{ status: "ok" } | { status: "error"; error: AppError }>) => {
    const result = await run();
    if (result.status === "error") showProblem(result.error);
  };
  const button = (id: string, label: string, cls: string, onClick: () => void) => {
    const b = h("button", { type: "button", id, class: cls }, label);
    b.addEventListener("click", onClick);
    return b;
  };

  // --- Ringing, either way.
  const hangUp = () => void act(() => commands.hangUp());
  const ringActions = h("div", { class: "ring-actions" });
  const ringView = h("section", { class: "ring" }, avatar, title, status, ringActions);

  // --- In call.
  const bigCanvas = h("canvas", { class: "video big", id: "video-remote", "data-feed": "remote" });
  const smallCanvas = h("canvas", { class: "video small", id: "video-local", "data-feed": "local", "data-corner": "bottom-right" });
  const remote = new VideoSurface(bigCanvas, options.gpu);
  const local = new VideoSurface(smallCanvas, options.gpu);
  remote.clear();
  local.clear();
  // A real GPU composites the call's video; the window goes back to the lighter CPU drawing after it.
  if (video && remote.ready && options.gpu) {
    void commands.setGpuCompositing(true);
    cleanups.push(() => void commands.setGpuCompositing(false));
  }
  const peerMuted = h("span", { class: "indicator", id: "peer-muted", hidden: true }, t("{name} muted their microphone", { name }));
  const peerTile = feedTile(bigCanvas, name, "peer");
  const localTile = feedTile(smallCanvas, options.selfName, "local");
  const timer = h("span", { class: "timer", id: "call-timer" }, "00:00");
  const mine = bars(t("You"), "quality-mine");
  const theirs = bars(name, "quality-peer");
  const warning = h("p", { class: "banner", id: "poor-network", role: "status", hidden: true },
    t("Your connection is poor. Turning your camera off can keep the call going."));
  // Said by a screen reader on the small view: how to swap and move it without a mouse.
  const hint = h("span", { class: "sr-only", id: "small-video-hint" },
    t("Enter swaps the big and small views; the arrow keys move the small one to another corner."));
  const stage = h("div", { class: video ? "stage" : "stage audio-only" }, bigCanvas, smallCanvas, peerTile.el, localTile.el, hint,
    video ? null : h("div", { class: "avatar big-avatar" }, initials(name)));

  // Click swaps the views; a drag moves the small one to the nearest corner.
  let drag: { x: number; y: number; moved: boolean } | null = null;
  const swap = () => {
    const remoteBig = bigCanvas.classList.contains("big");
    bigCanvas.classList.toggle("big", !remoteBig);
    bigCanvas.classList.toggle("small", remoteBig);
    smallCanvas.classList.toggle("big", remoteBig);
    smallCanvas.classList.toggle("small", !remoteBig);
    const corner = (remoteBig ? smallCanvas : bigCanvas).dataset.corner;
    (remoteBig ? bigCanvas : smallCanvas).dataset.corner = corner ?? "bottom-right";
    stage.dataset.swapped = String(remoteBig);
    peerTile.place();
    localTile.place();
    placeFocus();
  };
  // The keyboard's way to the same: the small view takes focus, Enter or Space swaps, the
  // arrow keys move it to another corner. Only the small one is in the Tab order.
  const FEED_NAMES: Record<string, string> = { remote: t("{name}'s video", { name }), local: t("Your video") };
  const placeFocus = () => {
    for (const canvas of [bigCanvas, smallCanvas]) {
      const small = canvas.classList.contains("small");
      canvas.tabIndex = small && video ? 0 : -1;
      canvas.setAttribute("role", small ? "button" : "img");
      canvas.setAttribute("aria-label", FEED_NAMES[canvas.dataset.feed ?? "remote"]!);
      if (small) canvas.setAttribute("aria-describedby", hint.id);
      else canvas.removeAttribute("aria-describedby");
    }
  };
  const moveSmall = (canvas: HTMLCanvasElement, key: string) => {
    const [vertical, horizontal] = (canvas.dataset.corner ?? "bottom-right").split("-");
    const next = {
      ArrowUp: `top-${horizontal}`,
      ArrowDown: `bottom-${horizontal}`,
      ArrowLeft: `${vertical}-left`,
      ArrowRight: `${vertical}-right`,
    }[key];
    if (!next) return false;
    canvas.dataset.corner = next;
    peerTile.place();
    localTile.place();
    return true;
  };
  for (const canvas of [bigCanvas, smallCanvas]) {
    canvas.addEventListener("keydown", (event) => {
      if (!canvas.classList.contains("small")) return;
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        swap();
        // The view that became small keeps the focus, so a second Enter swaps back.
        (canvas === bigCanvas ? smallCanvas : bigCanvas).focus();
      } else if (moveSmall(canvas, event.key)) {
        event.preventDefault();
      }
    });
    canvas.addEventListener("pointerdown", (event) => {
      if (!canvas.classList.contains("small")) return;
      drag = { x: event.clientX, y: event.clientY, moved: false };
      canvas.setPointerCapture?.(event.pointerId);
    });
    canvas.addEventListener("pointermove", (event) => {
      if (!drag || !canvas.classList.contains("small")) return;
      const [dx, dy] = [event.clientX - drag.x, event.clientY - drag.y];
      if (Math.abs(dx) + Math.abs(dy) > 6) drag.moved = true;
      canvas.style.translate = `${dx}px ${dy}px`;
    });
    canvas.addEventListener("pointerup", (event) => {
      const wasDrag = drag?.moved ?? false;
      drag = null;
      canvas.style.translate = "";
      if (!canvas.classList.contains("small")) return;
      if (!wasDrag) return swap();
      const box = stage.getBoundingClientRect();
      const vertical = event.clientY < box.top + box.height / 2 ? "top" : "bottom";
      const horizontal = event.clientX < box.left + box.width / 2 ? "left" : "right";
      canvas.dataset.corner = `${vertical}-${horizontal}`;
      peerTile.place();
      localTile.place();
    });
  }

  placeFocus();

  const switches: Record<Switch, boolean> = { microphone: true, camera: video, speaker: true };
  const toggles: Record<Switch, HTMLButtonElement> = {
    microphone: h("button", { type: "button", id: "toggle-microphone", "aria-pressed": "true" }, t("Mic on")),
    camera: h("button", { type: "button", id: "toggle-camera", "aria-pressed": String(video), disabled: !video }, video ? t("Camera on") : t("No video")),
    speaker: h("button", { type: "button", id: "toggle-speaker", "aria-pressed": "true" }, t("Speaker on")),
  };
  const LABELS: Record<Switch, [string, string]> = {
    microphone: [msg("Mic on"), msg("Mic off")],
    camera: [msg("Camera on"), msg("Camera off")],
    speaker: [msg("Speaker on"), msg("Speaker off")],
  };
  (Object.keys(toggles) as Switch[]).forEach((kind) => {
    toggles[kind].addEventListener("click", async () => {
      const on = !switches[kind];
      const result = await commands.setSwitch(kind, on);
      if (result.status === "error") return showProblem(result.error);
      switches[kind] = on;
      toggles[kind].textContent = t(LABELS[kind][on ? 0 : 1]);
      toggles[kind].setAttribute("aria-pressed", String(on));
      if (kind === "camera") smallCanvas.dataset.off = String(!on);
    });
  });

  // Devices: pick another camera, microphone or speaker during the call.
  const deviceMenu = h("div", { class: "device-menu", id: "device-menu", hidden: true });
  const devicesButton = button("devices", t("Devices"), "", async () => {
    if (!deviceMenu.hidden) {
      deviceMenu.hidden = true;
      return;
    }
    const list: Devices = await commands.devices();
    const pick = (kind: Switch, label: string, names: string[]) => {
      const select = h("select", { id: `device-${kind}`, "aria-label": label },
        h("option", { value: "" }, t("System default")), ...names.map((n) => h("option", { value: n }, n)));
      select.addEventListener("change", () => void act(() => commands.useDevice(kind, select.value || null)));
      return h("label", {}, label, select);
    };
    deviceMenu.replaceChildren(
      pick("camera", t("Camera"), list.cameras),
      pick("microphone", t("Microphone"), list.microphones),
      pick("speaker", t("Speaker"), list.speakers),
    );
    if (list.cameras.length === 0) deviceMenu.append(h("small", {}, t("No camera found: check that it is plugged in and not used by another app.")));
    deviceMenu.hidden = false;
    deviceMenu.querySelector("select")?.focus();
  });

  // Chat over the call's message channel.
  const chatLog = h("ol", { class: "chat-log", id: "chat-log", "aria-live": "polite" });
  const chatInput = h("input", { id: "chat-input", placeholder: t("Message"), "aria-label": t("Message"), maxlength: "1000" });
  const chatForm = h("form", { class: "chat-form", id: "chat-form" }, chatInput, h("button", { type: "submit" }, t("Send")));
  const addChat = (who: "me" | "peer", text: string) => {
    const item = h("li", { class: who }, h("small", {}, who === "me" ? t("You") : name), text);
    chatLog.append(item);
    chatLog.scrollTop = chatLog.scrollHeight;
    return item;
  };
  // My messages until the peer's receipt (or a failure) comes: id → its line and text.
  // The receipt can beat the answer to `sendChat` (loopback): it then waits in `early`.
  type Outcome = { delivered: true } | { delivered: false; reason: string };
  const sending = new Map<number, { item: HTMLElement; mark: HTMLElement; text: string }>();
  const early = new Map<number, Outcome>();
  const settle = (id: number, outcome: Outcome) => {
    const entry = sending.get(id);
    if (!entry) {
      early.set(id, outcome);
      return;
    }
    sending.delete(id);
    if (outcome.delivered) {
      entry.item.classList.replace("sending", "delivered");
      entry.mark.textContent = t("Delivered");
      return;
    }
    // Not sent: says why, and the text can go again (nothing typed is lost).
    entry.item.classList.replace("sending", "failed");
    const again = h("button", { type: "button", class: "link chat-again" }, t("Send again"));
    again.addEventListener("click", async () => {
      if (await sendChat(entry.text)) entry.item.remove();
    });
    entry.mark.replaceChildren(t("Not sent: {reason}", { reason: outcome.reason }), " ", again);
  };
  const sendChat = async (text: string): Promise<boolean> => {
    const result = await commands.sendChat(text);
    if (result.status === "error") {
      showProblem(result.error);
      return false;
    }
    const item = addChat("me", text);
    const mark = h("span", { class: "chat-mark" }, t("Sending…"));
    item.classList.add("sending");
    item.append(mark);
    sending.set(result.data, { item, mark, text });
    const outcome = early.get(result.data);
    if (outcome) {
      early.delete(result.data);
      settle(result.data, outcome);
    }
    return true;
  };
  chatForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = chatInput.value.trim();
    if (!text) return;
    if (await sendChat(text)) chatInput.value = "";
  });

  // Beauty: on/off and levels, applied to the next frame.
  const beautyPanel = h("div", { class: "beauty-panel", id: "beauty-panel", hidden: true });
  const beautyButton = button("beauty", t("Beauty"), "", async () => {
    if (!beautyPanel.hidden) {
      beautyPanel.hidden = true;
      return;
    }
    const settings = await commands.settings();
    beautyPanel.replaceChildren(beautyControls(settings.beauty, (beauty) => void act(() => commands.setBeauty(beauty))));
    beautyPanel.hidden = false;
    beautyPanel.querySelector<HTMLElement>("input, select, button")?.focus();
  });
  if (!video) beautyButton.hidden = true;

  // The device menu and the beauty panel close with Escape, and the focus goes back to their button.
  for (const [panel, opener] of [[deviceMenu, devicesButton], [beautyPanel, beautyButton]] as const) {
    panel.addEventListener("keydown", (event) => {
      if (event.key !== "Escape") return;
      event.preventDefault();
      panel.hidden = true;
      opener.focus();
    });
  }

  // Call details, on request: what a support person asks for when a call sounds or looks bad.
  const detailsPanel = h("dl", { class: "call-details", id: "call-details", hidden: true });
  const detailsButton = h("button", { type: "button", class: "link", id: "call-details-button",
    "aria-expanded": "false", "aria-controls": "call-details" }, t("Details"));
  detailsButton.addEventListener("click", () => {
    detailsPanel.hidden = !detailsPanel.hidden;
    detailsButton.setAttribute("aria-expanded", String(!detailsPanel.hidden));
  });
  // The safety code: shown on request, as two groups of three digits, with what to do with it.
  const safetyDigits = h("strong", { class: "safety-digits", id: "safety-digits" });
  const safetyPanel = h("p", { class: "safety-panel", id: "safety-panel", hidden: true }, safetyDigits, " ",
    h("span", {}, t("Read these digits to {name}. If {name} sees the same, nobody is listening in between.", { name })));
  const safetyButton = h("button", { type: "button", class: "link", id: "safety-code", hidden: true,
    "aria-expanded": "false", "aria-controls": "safety-panel" }, t("Safety code"));
  safetyButton.addEventListener("click", () => {
    safetyPanel.hidden = !safetyPanel.hidden;
    safetyButton.setAttribute("aria-expanded", String(!safetyPanel.hidden));
  });

  const controls = h("div", { class: "controls" }, toggles.microphone, toggles.camera, toggles.speaker, devicesButton, beautyButton,
    button("swap", t("Swap views"), "", swap), button("hang-up", t("Hang up"), "danger", hangUp));
  const inCallView = h("section", { class: "in-call", hidden: true },
    h("header", { class: "bar" }, h("strong", {}, name), timer, mine.el, theirs.el, peerMuted, safetyButton, detailsButton),
    safetyPanel, detailsPanel, warning, stage, controls, deviceMenu, beautyPanel, h("aside", { class: "chat" }, chatLog, chatForm));

  const resultView = h("section", { class: "result", hidden: true });
  const screen = h("main", { class: "screen call-screen", id: "call", "data-phase": change.phase, "data-invite": change.invite_id ?? "" }, ringView, inCallView, resultView, problem, announcer);

  // --- The call's life.
  let connectedAt: number | null = null;
  let mediaUp = false;
  // Media had flowed and stopped: the call is finding its way back.
  let reconnecting = false;
  // The server lost the peer's connection: with media down too, the trouble is theirs.
  let peerAway = false;
  const tick = setInterval(() => {
    if (connectedAt !== null && mediaUp) timer.textContent = formatDuration(Date.now() - connectedAt);
  }, 500);
  cleanups.push(() => clearInterval(tick));

  const render = () => {
    screen.dataset.phase = change.phase;
    const kind = video ? t("video call") : t("audio call");
    switch (change.phase) {
      case "calling":
        status.textContent = options.peerOffline
          ? t("{name} is offline; they were sent a notification. Waiting for an answer…", { name })
          : t("Calling… ({kind})", { kind });
        ringActions.replaceChildren(button("cancel", t("Cancel"), "danger", hangUp));
        focusFirst(ringActions);
        announce(`${name}: ${status.textContent}`);
        break;
      case "ringing":
        status.textContent = video ? t("Incoming video call") : t("Incoming audio call");
        ringActions.replaceChildren(
          video ? button("accept-video", t("Accept"), "accept", () => void act(() => commands.accept(false))) : "",
          button("accept-audio", video ? t("Accept audio only") : t("Accept"), "accept", () => void act(() => commands.accept(true))),
          button("decline", t("Decline"), "danger", () => void act(() => commands.decline())),
        );
        // Enter answers: the focus is on Accept as the call rings (Tab reaches the others).
        focusFirst(ringActions);
        announce(t("{name} is calling: {kind}", { name, kind }));
        break;
      case "connecting":
      case "connected": {
        if (inCallView.hidden) focusFirst(controls);
        ringView.hidden = true;
        inCallView.hidden = false;
        // "Connected" for the person only once media flows: until then ICE and DTLS are still at work.
        const talking = change.phase === "connected" && mediaUp;
        const waiting =
          change.phase !== "connected"
            ? t("Connecting…")
            : peerAway && !mediaUp
              ? t("{name}'s connection dropped — waiting…", { name })
              : reconnecting
                ? t("Reconnecting…")
                : t("Connecting media…");
        announce(talking ? t("In a call with {name}", { name }) : waiting);
        if (talking && connectedAt === null) connectedAt = Date.now();
        timer.textContent = talking ? formatDuration(Date.now() - (connectedAt ?? Date.now())) : waiting;
        break;
      }
      case "ended":
      case "failed": {
        ringView.hidden = true;
        inCallView.hidden = true;
        resultView.hidden = false;
        const back = button("back", t("Back to contacts"), "", () => options.onDone());
        const result = resultText(change, name);
        resultView.replaceChildren(avatar, title, h("p", { id: "call-result", "data-reason": change.reason ?? "" }, result), back);
        focusFirst(resultView);
        announce(result);
        setTimeout(() => (wantsChecks && options.onCheckDevices ? options.onCheckDevices() : options.onDone()), RESULT_MS);
        close();
        break;
      }
      default:
        break;
    }
  };

  const onStats = (stats: CallStats) => {
    detailsPanel.replaceChildren(...callDetails(stats).flatMap(([term, value]) => [h("dt", {}, t(term)), h("dd", {}, value)]));
    mine.set(stats.quality);
    theirs.set(stats.peer_quality);
    warning.hidden = !(stats.quality > POOR_QUALITY || (stats.peer_quality ?? 0) > POOR_QUALITY);
  };
  const onFrame = (frame: Frame) => (frame.feed === "remote" ? remote : local).draw(frame);

  const handlers: CallHandlers = {
    stats: onStats,
    peerMedia: (media) => {
      if (!media.audio && peerMuted.hidden) announce(t("{name} muted their microphone", { name }));
      peerMuted.hidden = media.audio;
      const why = media.audio_off ?? "off";
      peerMuted.textContent = why === "off" ? t("{name} muted their microphone", { name }) : `${name}: ${t(AUDIO_OFF[why])}`;
      peerTile.set(media, video);
    },
    peerConnection: (online) => {
      if (peerAway === !online) return;
      peerAway = !online;
      if (!mediaUp) render();
    },
    localMedia: (media) => localTile.set(media, video),
    chat: (text) => addChat("peer", text),
    delivered: (id) => settle(id, { delivered: true }),
    failed: (id, reason) => settle(id, { delivered: false, reason }),
    problem: showProblem,
    media: (connected, back) => {
      const changed = connected !== mediaUp || back !== reconnecting;
      mediaUp = connected;
      reconnecting = back;
      if (changed && (connected || back)) render();
    },
    verification: (code) => {
      safetyDigits.textContent = `${code.slice(0, 3)} ${code.slice(3)}`;
      safetyButton.hidden = false;
    },
  };
  shownCall = handlers;
  if (video) {
    void commands.videoEndpoint().then((result) => {
      if (result.status === "error") return showProblem(result.error);
      if (!remote.ready) showProblem({ code: "no_webgl", message: t("This system cannot draw video (no WebGL); the call goes on with sound.") });
      if (!closed) cleanups.push(receiveVideo(result.data, onFrame));
    });
  }

  let closed = false;
  function close() {
    if (closed) return;
    closed = true;
    cleanups.forEach((c) => c());
    if (shownCall === handlers) shownCall = null;
  }
  render();
  const update = (next: CallChanged) => {
    if (closed) return;
    change = next;
    render();
  };
  return { screen, update, close };
}

/** The call's figures as label and value, for the details panel. */
export function callDetails(stats: CallStats): [string, string][] {
  const rows: [string, string][] = [
    [msg("Round trip"), typeof stats.rtt_ms === "number" ? `${Math.round(stats.rtt_ms)} ms` : "–"],
    [msg("Packet loss"), typeof stats.loss === "number" ? `${(stats.loss * 100).toFixed(1)}%` : "–"],
    [msg("Video"), stats.width > 0 ? `${stats.width}×${stats.height}, ${(stats.fps ?? 0).toFixed(0)} fps` : "–"],
    [msg("Sent / received"), `${Math.round(stats.bitrate_out_kbps ?? 0)} / ${Math.round(stats.bitrate_in_kbps ?? 0)} kbps`],
  ];
  const echo = stats.echo_return_loss_enhancement_db;
  const likelihood = stats.residual_echo_likelihood;
  rows.push([msg("Echo"), typeof echo === "number"
    ? t("{db} dB cancelled, {delay} ms delay, {likelihood}% left", {
      db: echo.toFixed(0),
      delay: String(stats.echo_delay_ms ?? "–"),
      likelihood: typeof likelihood === "number" ? (likelihood * 100).toFixed(0) : "–",
    })
    : t("not cancelled")]);
  return rows;
}
