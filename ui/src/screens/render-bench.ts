// The render-path benchmark's page (benches/render.rs): both feeds drawn side
// by side, as an in-call screen draws them; the figures are read from
// window.__duetVideo.

import { commands } from "../bindings";
import { h } from "../dom";
import { receiveVideo, VideoSurface } from "../video";

export function renderBenchScreen(): HTMLElement {
  const canvases = [0, 1].map((n) => h("canvas", { class: "bench-video", id: n === 0 ? "bench-local" : "bench-remote" }));
  const [local, remote] = canvases.map((c) => new VideoSurface(c));
  const status = h("p", { id: "bench-status" }, local.ready ? "Drawing…" : "No WebGL in this webview.");
  void commands.videoEndpoint().then((result) => {
    if (result.status === "error") {
      status.textContent = result.error.message;
      return;
    }
    // The benchmark also measures the transport alone (window.__benchDraw = false).
    const draw = () => (window as unknown as { __benchDraw?: boolean }).__benchDraw !== false;
    receiveVideo(result.data, (frame) => {
      if (draw()) (frame.feed === "local" ? local : remote).draw(frame);
    });
  });
  return h("main", { class: "screen render-bench" }, status, h("div", { class: "bench-videos" }, ...canvases));
}
