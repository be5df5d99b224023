// Video on screen: the app sends each feed's newest I420 frame as a binary
// WebSocket message (src-tauri/src/video.rs documents the header); this draws
// the Y, U and V planes with WebGL, converting to RGB on the GPU, and
// acknowledges each frame so the next one comes only when this one is drawn.

export type Feed = "local" | "remote";

const HEADER_LEN = 24;
const VERSION = 1;

export interface Frame {
  feed: Feed;
  width: number;
  height: number;
  /** Capture time and hand-over time, ms since the Unix epoch. */
  capturedMs: number;
  handedMs: number;
  y: Uint8Array;
  u: Uint8Array;
  v: Uint8Array;
}

/** Reads one message; null for anything that is not a frame this version knows. */
export function parseFrame(data: ArrayBuffer): Frame | null {
  if (data.byteLength < HEADER_LEN) return null;
  const view = new DataView(data);
  if (view.getUint8(0) !== VERSION) return null;
  const width = view.getUint16(2, true);
  const height = view.getUint16(4, true);
  const cw = Math.ceil(width / 2);
  const ch = Math.ceil(height / 2);
  const luma = width * height;
  const chroma = cw * ch;
  if (width === 0 || height === 0 || data.byteLength !== HEADER_LEN + luma + 2 * chroma) return null;
  return {
    feed: view.getUint8(1) === 0 ? "local" : "remote",
    width,
    height,
    capturedMs: Number(view.getBigUint64(8, true)) / 1000,
    handedMs: Number(view.getBigUint64(16, true)) / 1000,
    y: new Uint8Array(data, HEADER_LEN, luma),
    u: new Uint8Array(data, HEADER_LEN + luma, chroma),
    v: new Uint8Array(data, HEADER_LEN + luma + chroma, chroma),
  };
}

const VERTEX = `
attribute vec2 corner;
varying vec2 at;
void main() {
  at = vec2((corner.x + 1.0) / 2.0, (1.0 - corner.y) / 2.0);
  gl_Position = vec4(corner, 0.0, 1.0);
}`;

// BT.601, limited range: what H.264 encoders send by default.
const FRAGMENT = `
precision mediump float;
varying vec2 at;
uniform sampler2D yPlane;
uniform sampler2D uPlane;
uniform sampler2D vPlane;
void main() {
  float y = 1.1643 * (texture2D(yPlane, at).r - 0.0625);
  float u = texture2D(uPlane, at).r - 0.5;
  float v = texture2D(vPlane, at).r - 0.5;
  gl_FragColor = vec4(y + 1.5958 * v, y - 0.39173 * u - 0.8129 * v, y + 2.017 * u, 1.0);
}`;

/** A canvas that shows I420 frames. */
export class VideoSurface {
  readonly canvas: HTMLCanvasElement;
  private gl: WebGLRenderingContext | null;
  private textures: WebGLTexture[] = [];
  /** The frame size the textures were allocated for. */
  private textureSize = "";
  /** Frames drawn so far (tests read it to see the picture move). */
  drawn = 0;
  /** Draw at the frame's own size whatever the canvas is shown at (the render benchmark's full-size modes). */
  fullSize = false;
  /** The most pixels a frame is drawn with; the page scales the picture up to the box beyond that. */
  maxPixels: number;

  /** `gpu`: the webview draws with a real GPU (the app knows; `AppInfo.gpu`). */
  constructor(canvas: HTMLCanvasElement, gpu: boolean) {
    this.canvas = canvas;
    this.gl = canvas.getContext("webgl", { alpha: false, antialias: false, preserveDrawingBuffer: true });
    if (this.gl) this.setUp(this.gl);
    this.maxPixels = gpu ? Infinity : SOFTWARE_PIXEL_BUDGET;
  }

  /** False where the webview has no WebGL: the call goes on, the picture is not shown. */
  get ready(): boolean {
    return this.gl !== null;
  }

  private setUp(gl: WebGLRenderingContext): void {
    const shader = (type: number, source: string) => {
      const s = gl.createShader(type)!;
      gl.shaderSource(s, source);
      gl.compileShader(s);
      return s;
    };
    const program = gl.createProgram()!;
    gl.attachShader(program, shader(gl.VERTEX_SHADER, VERTEX));
    gl.attachShader(program, shader(gl.FRAGMENT_SHADER, FRAGMENT));
    gl.linkProgram(program);
    gl.useProgram(program);
    gl.bindBuffer(gl.ARRAY_BUFFER, gl.createBuffer());
    gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([-1, -1, 1, -1, -1, 1, 1, 1]), gl.STATIC_DRAW);
    const corner = gl.getAttribLocation(program, "corner");
    gl.enableVertexAttribArray(corner);
    gl.vertexAttribPointer(corner, 2, gl.FLOAT, false, 0, 0);
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
    ["yPlane", "uPlane", "vPlane"].forEach((name, unit) => {
      const texture = gl.createTexture()!;
      gl.activeTexture(gl.TEXTURE0 + unit);
      gl.bindTexture(gl.TEXTURE_2D, texture);
      for (const param of [gl.TEXTURE_WRAP_S, gl.TEXTURE_WRAP_T]) gl.texParameteri(gl.TEXTURE_2D, param, gl.CLAMP_TO_EDGE);
      for (const param of [gl.TEXTURE_MIN_FILTER, gl.TEXTURE_MAG_FILTER]) gl.texParameteri(gl.TEXTURE_2D, param, gl.LINEAR);
      gl.uniform1i(gl.getUniformLocation(program, name), unit);
      this.textures.push(texture);
    });
  }

  draw(frame: Frame): void {
    const gl = this.gl;
    if (!gl) return;
    // Drawn at the size it is shown (a small view, a half-width window), never
    // above the frame's: each pixel drawn is shaded, then composited.
    const [width, height] = this.fullSize
      ? [frame.width, frame.height]
      : drawnSize(frame.width, frame.height, this.canvas.clientWidth, this.canvas.clientHeight, this.maxPixels);
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
    }
    gl.viewport(0, 0, width, height);
    // Textures are (re)allocated when the frame size changes, then only overwritten.
    const size = `${frame.width}x${frame.height}`;
    const resized = this.textureSize !== size;
    this.textureSize = size;
    const cw = Math.ceil(frame.width / 2);
    const ch = Math.ceil(frame.height / 2);
    const planes: [Uint8Array, number, number][] = [
      [frame.y, frame.width, frame.height],
      [frame.u, cw, ch],
      [frame.v, cw, ch],
    ];
    planes.forEach(([plane, w, h], unit) => {
      gl.activeTexture(gl.TEXTURE0 + unit);
      gl.bindTexture(gl.TEXTURE_2D, this.textures[unit]);
      if (resized) gl.texImage2D(gl.TEXTURE_2D, 0, gl.LUMINANCE, w, h, 0, gl.LUMINANCE, gl.UNSIGNED_BYTE, plane);
      else gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, w, h, gl.LUMINANCE, gl.UNSIGNED_BYTE, plane);
    });
    gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
    this.drawn += 1;
  }

  clear(): void {
    const gl = this.gl;
    if (!gl) return;
    gl.clearColor(0.1, 0.12, 0.16, 1);
    gl.clear(gl.COLOR_BUFFER_BIT);
  }
}

/**
 * On a GL without a GPU, the most pixels one feed is drawn with: 640x360, about
 * what the default window shows the remote feed at. Each pixel drawn is shaded
 * and copied into the page on the CPU: in a maximised 1920x1080 window a 720p30
 * feed drawn at 1280x720 came at 16–22 fps, at 640x360 at 27–30 (BENCHMARKS.md,
 * "Video on screen"). Beyond it the page scales the picture up.
 */
export const SOFTWARE_PIXEL_BUDGET = 640 * 360;

/**
 * The canvas size that shows a `frameWidth`×`frameHeight` picture in a box of
 * `boxWidth`×`boxHeight` CSS pixels: the box's device pixels at the frame's
 * aspect, never more than the frame nor than `maxPixels`. A box not laid out
 * (0) takes the frame's size, within `maxPixels`.
 */
export function drawnSize(
  frameWidth: number,
  frameHeight: number,
  boxWidth: number,
  boxHeight: number,
  maxPixels = Infinity,
): [number, number] {
  const ratio = window.devicePixelRatio || 1;
  const laidOut = boxWidth > 0 && boxHeight > 0;
  const fit = laidOut ? Math.min(1, (boxWidth * ratio) / frameWidth, (boxHeight * ratio) / frameHeight) : 1;
  const scale = Math.min(fit, Math.sqrt(maxPixels / (frameWidth * frameHeight)));
  return [Math.max(1, Math.round(frameWidth * scale)), Math.max(1, Math.round(frameHeight * scale))];
}

/** What each feed delivered: frames drawn and added latency (hand-over → drawn), for the render benchmark. */
export interface FeedStats {
  frames: number;
  latenciesMs: number[];
}

export const videoStats: Record<Feed, FeedStats> = {
  local: { frames: 0, latenciesMs: [] },
  remote: { frames: 0, latenciesMs: [] },
};
(window as unknown as { __duetVideo: typeof videoStats }).__duetVideo = videoStats;

/** Reads frames from `url` and hands each to `onFrame` as it arrives; returns a function that stops. */
export function receiveVideo(url: string, onFrame: (frame: Frame) => void): () => void {
  let socket: WebSocket | null = null;
  let stopped = false;
  const open = () => {
    socket = new WebSocket(url);
    socket.binaryType = "arraybuffer";
    socket.onmessage = (event: MessageEvent<ArrayBuffer>) => {
      const frame = parseFrame(event.data);
      if (!frame) return;
      onFrame(frame);
      // Drawn: the app may send this feed's next frame.
      socket?.send(new Uint8Array([frame.feed === "local" ? 0 : 1]));
      const stats = videoStats[frame.feed];
      stats.frames += 1;
      stats.latenciesMs.push(performance.timeOrigin + performance.now() - frame.handedMs);
      if (stats.latenciesMs.length > 2000) stats.latenciesMs.splice(0, 1000);
    };
    // The app restarted its side (or was busy): try again shortly.
    socket.onclose = () => {
      if (!stopped) setTimeout(open, 500);
    };
  };
  open();
  return () => {
    stopped = true;
    socket?.close();
  };
}
