// t("Check devices"): camera → microphone → speaker → network → report, the
// tester answering what only a person can tell (seed 004's device and network
// tests). Problems found here are the ones that never spoil a call.

import {
  commands,
  events,
  type AppError,
  type CheckOutcome,
  type CheckStep,
  type Devices,
  type NetworkOutcome,
  type SavedReport,
} from "../bindings";
import { h } from "../dom";
import { errorText, msg, t } from "../i18n";
import { receiveVideo, VideoSurface } from "../video";

export interface ChecksOptions {
  /** Whether someone is signed in: the network test measures the way to their server. */
  signedIn: boolean;
  /** The webview draws with a real GPU (`AppInfo.gpu`). */
  gpu: boolean;
  onBack: () => void;
  /** The server's echo user, for a test call at the end (signed in to a server that has one). */
  echoUser?: string | null;
}

type Step = CheckStep | "report";
const STEPS: [Step, string][] = [
  ["camera", msg("Camera")],
  ["microphone", msg("Microphone")],
  ["speaker", msg("Speaker")],
  ["network", msg("Network")],
  ["report", msg("Report")],
];
const STATUS_LABEL = { ok: msg("OK"), warning: msg("Works, with a problem"), failed: msg("Problem found"), skipped: msg("Not checked") };
const PHASE_LABEL: Record<string, string> = {
  connecting: msg("Reaching the server…"),
  echo: msg("Measuring delay and loss…"),
  upload: msg("Measuring upload speed…"),
  download: msg("Measuring download speed…"),
};

/** A bar that shows a level from 0 to 100. */
function meter(id: string, label: string): { element: HTMLElement; set: (level: number) => void } {
  const fill = h("span", { class: "meter-fill" });
  const element = h("div", { class: "meter", id, role: "meter", "aria-label": label, "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": "0" }, fill);
  return {
    element,
    set: (level) => {
      fill.style.width = `${level}%`;
      element.setAttribute("aria-valuenow", String(level));
      element.dataset.level = String(level);
    },
  };
}

/** A device menu: t("System default") first, then every device found. */
function devicePicker(id: string, label: string, names: string[], onChange: (device: string | null) => void) {
  const select = h("select", { id }, h("option", { value: "" }, t("System default")), ...names.map((n) => h("option", { value: n }, n)));
  select.addEventListener("change", () => onChange(select.value || null));
  const refill = (list: string[]) => {
    const chosen = select.value;
    select.replaceChildren(h("option", { value: "" }, t("System default")), ...list.map((n) => h("option", { value: n, selected: n === chosen }, n)));
    // The chosen device was unplugged: back to the default.
    if (chosen && !list.includes(chosen)) onChange(null);
  };
  return { element: h("label", {}, label, select), select, refill, value: () => select.value || null };
}

function outcomeBox(outcome: CheckOutcome): HTMLElement {
  return h(
    "div",
    { class: `outcome ${outcome.status}`, id: `outcome-${outcome.step}`, "data-status": outcome.status },
    h("strong", {}, `${t(STEPS.find(([s]) => s === outcome.step)?.[1] ?? "")}: ${t(STATUS_LABEL[outcome.status])}`),
    h("p", {}, outcome.summary),
    outcome.advice ? h("p", { class: "advice" }, outcome.advice) : null,
  );
}

export function checksScreen(options: ChecksOptions): { screen: HTMLElement; close: () => void } {
  const stepper = h("ol", { class: "stepper", id: "check-steps" }, ...STEPS.map(([step, label]) => h("li", { "data-step": step }, t(label))));
  const body = h("section", { class: "card check-body", id: "check-body" }, h("p", {}, t("Looking for devices…")));
  const back = h("button", { type: "button", id: "checks-back" }, t("Back"));
  const screen = h("main", { class: "screen checks-screen" }, h("header", { class: "bar" }, h("h2", {}, t("Check devices")), back), stepper, body);

  let devices: Devices = { cameras: [], microphones: [], speakers: [] };
  const outcomes = new Map<CheckStep, CheckOutcome>();
  const cleanups: (() => void)[] = [];
  const stepCleanups: (() => void)[] = [];
  let closed = false;
  let onDevices: (list: Devices) => void = () => {};
  let current: Step = "camera";

  const endStep = () => stepCleanups.splice(0).forEach((f) => f());
  const close = () => {
    if (closed) return;
    closed = true;
    endStep();
    cleanups.splice(0).forEach((f) => f());
    void commands.stopChecks();
  };
  back.addEventListener("click", () => {
    close();
    options.onBack();
  });

  const mark = () => {
    for (const item of stepper.children) {
      const step = (item as HTMLElement).dataset.step as Step;
      const outcome = step === "report" ? undefined : outcomes.get(step);
      item.className = [step === current ? "current" : "", outcome ? outcome.status : ""].join(" ").trim();
      if (step === current) item.setAttribute("aria-current", "step");
      else item.removeAttribute("aria-current");
    }
  };
  const problem = h("p", { class: "error", role: "alert", id: "check-error" });
  const showProblem = (error: AppError | null) => {
    problem.textContent = error ? errorText(error) : "";
    if (error) problem.dataset.code = error.code;
    else delete problem.dataset.code;
  };
  const go = (step: Step) => {
    endStep();
    showProblem(null);
    current = step;
    mark();
    onDevices = () => {};
    ({ camera: cameraStep, microphone: microphoneStep, speaker: speakerStep, network: networkStep, report: reportStep })[step]();
  };
  const next = (step: CheckStep): Step => STEPS[STEPS.findIndex(([s]) => s === step) + 1][0];
  /** The tester's answer ends the step; its outcome shows briefly in the stepper and the report. */
  const finish = async (step: CheckStep, answer: boolean | null) => {
    const result = await commands.finishCheck(step, answer);
    if (result.status === "error") return showProblem(result.error);
    outcomes.set(step, result.data);
    if (!closed) go(next(step));
  };
  const answers = (step: CheckStep, question: string) => {
    const yes = h("button", { type: "button", class: "primary", id: `${step}-yes` }, t("Yes"));
    const no = h("button", { type: "button", id: `${step}-no` }, t("No"));
    const skip = h("button", { type: "button", class: "link", id: `${step}-skip` }, t("Skip"));
    yes.addEventListener("click", () => void finish(step, true));
    no.addEventListener("click", () => void finish(step, false));
    skip.addEventListener("click", () => void finish(step, null));
    return h("div", { class: "question" }, h("p", {}, question), h("div", { class: "actions" }, yes, no, skip));
  };
  /** When a device fails mid-check: its outcome, and the way on. */
  const failedStep = (step: CheckStep, error: AppError) => {
    showProblem(error);
    const next = h("button", { type: "button", class: "primary", id: `${step}-next` }, t("Continue"));
    next.addEventListener("click", () => void finish(step, null));
    return next;
  };

  const cameraStep = () => {
    const canvas = h("canvas", { class: "preview", id: "camera-preview", width: "640", height: "360" });
    const surface = new VideoSurface(canvas, options.gpu);
    surface.clear();
    const info = h("p", { class: "hint", id: "camera-info" }, t("Opening the camera…"));
    const actions = h("div", { class: "step-actions" });
    const start = async (camera: string | null) => {
      showProblem(null);
      info.textContent = t("Opening the camera…");
      const result = await commands.checkCamera(camera);
      if (result.status === "error") {
        info.textContent = "";
        actions.replaceChildren(failedStep("camera", result.error));
        return;
      }
      const c = result.data;
      info.textContent = `${c.name} · ${c.width}×${c.height} · ${Math.round(c.fps ?? 0)} fps`;
      actions.replaceChildren(answers("camera", t("Can you see yourself clearly?")));
    };
    const picker = devicePicker("check-camera", t("Camera"), devices.cameras, (camera) => void start(camera));
    onDevices = (list) => picker.refill(list.cameras);
    body.replaceChildren(h("h3", {}, t("Camera")), picker.element, canvas, info, problem, actions);
    if (!surface.ready) info.after(h("p", { class: "hint" }, t("This system cannot draw video (no WebGL): the check still tells whether the camera delivers pictures.")));
    void commands.videoEndpoint().then((url) => {
      if (url.status === "ok" && current === "camera" && !closed) {
        stepCleanups.push(receiveVideo(url.data, (frame) => frame.feed === "local" && surface.draw(frame)));
      }
    });
    void start(null);
  };

  const microphoneStep = () => {
    const level = meter("mic-level", t("Microphone level"));
    const playback = meter("playback-level", t("Playback level"));
    const record = h("button", { type: "button", id: "mic-record" }, t("Record 3 seconds and play them back"));
    const status = h("p", { class: "hint", id: "mic-status" }, t("Opening the microphone…"));
    const actions = h("div", { class: "step-actions" });
    const speakerPicker = devicePicker("check-playback-speaker", t("Play back on"), devices.speakers, () => {});
    const start = async (microphone: string | null) => {
      showProblem(null);
      const result = await commands.checkMicrophone(microphone);
      if (result.status === "error") {
        status.textContent = "";
        record.disabled = true;
        actions.replaceChildren(failedStep("microphone", result.error));
        return;
      }
      record.disabled = false;
      status.textContent = t("Listening to {device}. Say something: the bar should move.", { device: result.data });
      actions.replaceChildren(answers("microphone", t("Did the bar move when you spoke, and did you hear your recording?")));
    };
    const picker = devicePicker("check-microphone", t("Microphone"), devices.microphones, (m) => void start(m));
    onDevices = (list) => {
      picker.refill(list.microphones);
      speakerPicker.refill(list.speakers);
    };
    record.addEventListener("click", async () => {
      record.disabled = true;
      status.textContent = t("Recording… speak now.");
      const result = await commands.recordAndPlayBack(speakerPicker.value());
      if (result.status === "error") showProblem(result.error);
      else status.textContent = t("Playing your recording back…");
      record.disabled = false;
    });
    body.replaceChildren(
      h("h3", {}, t("Microphone")),
      picker.element,
      h("label", {}, t("Level"), level.element),
      status,
      speakerPicker.element,
      record,
      h("label", {}, t("Playback"), playback.element),
      problem,
      actions,
    );
    void listen(stepCleanups, events.micLevel.listen((e) => level.set(e.payload.level)));
    void listen(stepCleanups, events.speakerLevel.listen((e) => {
      playback.set(e.payload.level);
      if (e.payload.finished) status.textContent = t("Played back. Did you hear yourself?");
    }));
    void start(null);
  };

  const speakerStep = () => {
    const level = meter("speaker-level", t("Speaker level"));
    const play = h("button", { type: "button", id: "speaker-play" }, t("Play the test sound again"));
    const status = h("p", { class: "hint", id: "speaker-status" }, "");
    const actions = h("div", { class: "step-actions" });
    const start = async (speaker: string | null) => {
      showProblem(null);
      status.textContent = t("Playing a short tune…");
      status.dataset.finished = "false";
      const result = await commands.checkSpeaker(speaker);
      if (result.status === "error") {
        status.textContent = "";
        actions.replaceChildren(failedStep("speaker", result.error));
        return;
      }
      status.textContent = t("Playing a short tune on {device}…", { device: result.data });
      actions.replaceChildren(answers("speaker", t("Can you hear the tune?")));
    };
    const picker = devicePicker("check-speaker", t("Speaker"), devices.speakers, (s) => void start(s));
    onDevices = (list) => picker.refill(list.speakers);
    play.addEventListener("click", () => void start(picker.value()));
    body.replaceChildren(h("h3", {}, t("Speaker")), picker.element, h("label", {}, t("Level"), level.element), status, play, problem, actions);
    void listen(stepCleanups, events.speakerLevel.listen((e) => {
      level.set(e.payload.level);
      if (e.payload.finished) {
        status.textContent = t("The tune has finished.");
        status.dataset.finished = "true";
      }
    }));
    void start(null);
  };

  const networkStep = () => {
    const progress = h("progress", { id: "network-progress", max: "100", value: "0" });
    const phase = h("p", { class: "hint", id: "network-phase" }, "");
    const outcome = h("div");
    const list = h("dl", { class: "figures" });
    const figures = h("div", { id: "network-figures" }, outcome, list);
    const run = h("button", { type: "button", class: "primary", id: "network-run" }, t("Test the network"));
    const skip = h("button", { type: "button", class: "link", id: "network-skip" }, t("Skip"));
    const nextButton = h("button", { type: "button", class: "primary", id: "network-next", hidden: true }, t("Continue"));
    skip.addEventListener("click", () => void finish("network", null));
    nextButton.addEventListener("click", () => void finish("network", null));
    const done = (tested: NetworkOutcome) => {
      outcome.replaceChildren(outcomeBox(tested.outcome));
      list.replaceChildren();
      const f = tested.figures;
      if (f) {
        const kbps = (k: number) => (k < 0 ? t("not tested") : `${k} kbps`);
        const rows: [string, string][] = [
          [msg("Delay (round trip)"), `${f.rtt_ms} ms`],
          [msg("Jitter"), `${f.jitter_ms} ms`],
          [msg("Loss up / down"), `${((f.up_loss ?? 0) * 100).toFixed(1)}% / ${((f.down_loss ?? 0) * 100).toFixed(1)}%`],
          [msg("Upload"), kbps(f.up_kbps)],
          [msg("Download"), kbps(f.down_kbps)],
          [msg("Server"), f.server],
        ];
        list.append(...rows.flatMap(([k, v]) => [h("dt", {}, t(k)), h("dd", {}, v)]));
      }
      run.textContent = t("Test again");
      nextButton.hidden = false;
    };
    run.addEventListener("click", async () => {
      run.disabled = true;
      showProblem(null);
      outcome.replaceChildren();
      list.replaceChildren();
      const result = await commands.testNetwork();
      run.disabled = false;
      phase.textContent = "";
      if (result.status === "error") return showProblem(result.error);
      done(result.data);
    });
    void listen(stepCleanups, events.speedTestProgressed.listen((e) => {
      progress.value = e.payload.percent;
      phase.textContent = t(PHASE_LABEL[e.payload.phase] ?? "");
    }));
    const intro = options.signedIn
      ? t("Measures delay, loss and speed between this computer and your Duet server (about 10 seconds). It cannot run during a call.")
      : t("Sign in first to test the network: it measures the way to your Duet server.");
    run.disabled = !options.signedIn;
    body.replaceChildren(h("h3", {}, t("Network")), h("p", {}, intro), progress, phase, problem, figures, h("div", { class: "actions" }, run, nextButton, skip));
  };

  const reportStep = () => {
    const retest = h("button", { type: "button", id: "checks-retest" }, t("Retest"));
    const save = h("button", { type: "button", class: "primary", id: "checks-save" }, t("Save report"));
    const saved = h("p", { class: "hint", id: "report-saved", "aria-live": "polite" });
    const list = h("div", { id: "report-outcomes" }, ...STEPS.slice(0, 4).map(([step]) => outcomeBox(outcomes.get(step as CheckStep) ?? { step: step as CheckStep, status: "skipped", summary: t("Not checked."), advice: null, code: null })));
    const broken = [...outcomes.values()].some((o) => o.status === "failed");
    retest.addEventListener("click", () => void restart());
    save.addEventListener("click", async () => {
      save.disabled = true;
      const result = await commands.saveCheckReport();
      save.disabled = false;
      if (result.status === "error") return showProblem(result.error);
      const report: SavedReport = result.data;
      saved.textContent = t("Saved: {page} (and {data} for your admin).", { page: report.html_path, data: report.json_path });
      saved.dataset.path = report.html_path;
    });
    // Last: the real thing, a call that brings the user's own picture and voice back.
    const echo = options.echoUser;
    const testCall = echo ? h("button", { type: "button", class: "accept", id: "checks-test-call" }, t("Make a test call")) : null;
    testCall?.addEventListener("click", async () => {
      const result = await commands.call(echo!, false);
      if (result.status === "error") showProblem(result.error);
    });
    body.replaceChildren(
      h("h3", {}, t("Report")),
      h("p", { id: "report-verdict" }, broken ? t("Some checks found problems: the advice below says what to do, then retest.") : t("Everything checked works: you are ready for calls.")),
      list,
      problem,
      h("div", { class: "actions" }, save, retest),
      saved,
      ...(testCall ? [h("p", { class: "hint" }, t("See and hear yourself as the other side will:"), " ", testCall)] : []),
    );
  };

  const restart = async () => {
    outcomes.clear();
    const started = await commands.startChecks();
    if (closed) return;
    if (started.status === "error") return showProblem(started.error);
    devices = started.data;
    go("camera");
  };
  void listen(cleanups, events.checkDevicesChanged.listen((e) => {
    devices = e.payload.devices;
    onDevices(devices);
  }));
  void listen(cleanups, events.checkFailed.listen((e) => {
    const outcome = e.payload.outcome;
    if (outcome.step !== current) return;
    body.querySelector(".step-actions")?.replaceChildren(failedStep(outcome.step, { code: "device", message: [outcome.summary, outcome.advice].filter(Boolean).join(" ") }));
  }));
  void restart();
  return { screen, close };
}

/** Keeps an event listener until its list is run. */
async function listen(cleanups: (() => void)[], listening: Promise<() => void>): Promise<void> {
  cleanups.push(await listening);
}
