// The render-path benchmark's page (benches/render.rs): both feeds drawn as
// the in-call screen draws them (remote big on the stage, local small in a
// corner, the chat column beside); the figures are read from window.__duetVideo.

import { commands } from "../bindings";
import { h } from "../dom";
import { receiveVideo, VideoSurface } from "../video";

interface BenchControls {
  /** False: the frames are received and acknowledged, not drawn (the transport alone). */
  __benchDraw?: boolean;
  /**
   * True: each feed is drawn at the frame's size, 1280x720, whatever it is shown at;
   * "remote": only the remote feed is (in its box of the default window; the bench's
   * maximised-window modes resize the window instead).
   */
  __benchFullSize?: boolean | "remote";
  /** The most pixels each feed is drawn with (`VideoSurface.maxPixels`); unset: the app's own choice. */
  __benchMaxPixels?: number;
}

/** `gpu`: the webview draws with a real GPU (`AppInfo.gpu`). */
export function renderBenchScreen(gpu: boolean): HTMLElement {
  const remoteCanvas = h("canvas", { class: "video big", id: "bench-remote" });
  const localCanvas = h("canvas", { class: "video small", id: "bench-local", "data-corner": "bottom-right" });
  const [local, remote] = [localCanvas, remoteCanvas].map((c) => new VideoSurface(c, gpu));
  const status = h("p", { id: "bench-status" }, local.ready ? "Drawing…" : "No WebGL in this webview.");
  void commands.videoEndpoint().then((result) => {
    if (result.status === "error") {
      status.textContent = result.error.message;
      return;
    }
    const controls = window as unknown as BenchControls;
    receiveVideo(result.data, (frame) => {
      if (controls.__benchDraw === false) return;
      const surface = frame.feed === "local" ? local : remote;
      const full = controls.__benchFullSize;
      surface.fullSize = full === true || (full === "remote" && frame.feed === "remote");
      if (controls.__benchMaxPixels !== undefined) surface.maxPixels = controls.__benchMaxPixels;
      surface.draw(frame);
    });
  });
  return h(
    "main",
    { class: "screen call-screen render-bench" },
    h("div", { class: "in-call" }, status, h("div", { class: "stage" }, remoteCanvas, localCanvas), h("aside", { class: "chat" })),
  );
}
