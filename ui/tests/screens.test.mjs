// Every screen and state of the UI in headless Chromium, with the Tauri IPC
// mocked (tests/mock-ipc.js). Screenshots go to ui/test-results/ for review.
// Run: npm --prefix ui test (after `npm --prefix ui run build`).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import { mkdirSync, readFileSync } from "node:fs";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = fileURLToPath(new URL(".", import.meta.url));
const dist = join(here, "..", "dist");
const shots = join(here, "..", "test-results");
mkdirSync(shots, { recursive: true });
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml" };

let server;
let browser;
let base;

before(async () => {
  server = createServer((req, res) => {
    const path = req.url === "/" ? "/index.html" : req.url.split("?")[0];
    try {
      const body = readFileSync(join(dist, path));
      res.writeHead(200, { "content-type": TYPES[extname(path)] ?? "application/octet-stream" }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${server.address().port}/`;
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  await browser?.close();
  server?.close();
});

/** No policy file: nothing managed. */
const NO_POLICY = { server: null, lock_server: false, allow_local_server: true, allow_registration: true, update_channel: "stable", relay_only: false,
  echo_cancellation: null, noise_suppression: null, auto_gain: null };
const POLICY = JSON.stringify(NO_POLICY);

const ALICE = { server: "http://duet.test:8443", user_id: "alice", local: false, warning: null, echo_user: null };
const CONTACTS = [
  { user_id: "carol", display_name: "Carol", status: "offline", avatar_url: null },
  { user_id: "bob", display_name: "Bob", status: "online", avatar_url: null },
  { user_id: "echo", display_name: "Echo test call", status: "busy", avatar_url: null },
];

/** Opens the app with `handlers` (source text of an object literal run in the page). */
async function open(handlers, path = "", viewport = { width: 960, height: 640 }) {
  const page = await browser.newPage({ viewport });
  const errors = [];
  page.on("pageerror", (error) => errors.push(error.message));
  await page.addInitScript({ path: join(here, "mock-ipc.js") });
  await page.addInitScript(`window.__mock.handlers = ${handlers};`);
  await page.goto(base + path);
  await page.waitForSelector("#app[data-ready='true']");
  page.errors = errors;
  return page;
}

/** Types a server, a user and a password into the login form (not submitted). */
async function fillLogin(page, server, user, password) {
  await page.fill("#server", server);
  await page.fill("#user", user);
  await page.fill("#password", password);
}

/** One video message of src-tauri/src/video.rs: a grey `width`×`height` I420 frame of the remote feed. */
function videoMessage(width, height) {
  const [cw, ch] = [Math.ceil(width / 2), Math.ceil(height / 2)];
  const message = Buffer.alloc(24 + width * height + 2 * cw * ch, 128);
  message[0] = 1; // version
  message[1] = 1; // the remote feed
  message.writeUInt16LE(width, 2);
  message.writeUInt16LE(height, 4);
  const now = BigInt(Date.now()) * 1000n;
  message.writeBigUInt64LE(now, 8);
  message.writeBigUInt64LE(now, 16);
  return message;
}

/** A WebSocket endpoint standing in for the app's video feed: sends `message` every 100 ms to each client. */
async function videoFeed(message) {
  const head = Buffer.alloc(10);
  head[0] = 0x82; // one binary frame
  head[1] = 127;
  head.writeBigUInt64BE(BigInt(message.length), 2);
  const feed = createServer();
  const sockets = new Set();
  feed.on("upgrade", (req, socket) => {
    sockets.add(socket);
    const key = createHash("sha1").update(`${req.headers["sec-websocket-key"]}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`);
    socket.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      `Sec-WebSocket-Accept: ${key.digest("base64")}\r\n\r\n`);
    const timer = setInterval(() => socket.write(Buffer.concat([head, message])), 100);
    socket.on("data", () => {}); // the page's acknowledgements
    socket.on("error", () => {});
    socket.on("close", () => clearInterval(timer));
  });
  await new Promise((resolve) => feed.listen(0, "127.0.0.1", resolve));
  const close = () => {
    sockets.forEach((socket) => socket.destroy());
    feed.close();
  };
  return { url: `ws://127.0.0.1:${feed.address().port}/`, close };
}

const calls = (page, cmd) => page.evaluate((cmd) => window.__mock.calls.filter((c) => c.cmd === cmd), cmd);
const axeSource = readFileSync(join(here, "..", "node_modules", "axe-core", "axe.min.js"), "utf8");

/**
 * Checks the page as it is with axe-core, the engine of screen-reader-level audits: no serious
 * or critical violation of WCAG 2.1 A/AA or of axe's best practices. Every screenshot is of a
 * screen a user meets, so each one is checked.
 */
async function accessible(page, name) {
  if (!(await page.evaluate(() => "axe" in window))) await page.addScriptTag({ content: axeSource });
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ["violations"] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => `${n.target.join(" ")}: ${n.failureSummary}`) }));
  });
  const serious = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(serious, [], `${name}: ${JSON.stringify(serious, null, 1)}`);
}

/** A screenshot for review, after the accessibility check of what it shows. */
const shot = async (page, name) => {
  await accessible(page, name);
  await page.screenshot({ path: join(shots, `${name}.png`) });
};

/**
 * What the keyboard must reach on the page as it is: every visible, enabled control in
 * document order (of a group of radio buttons, the checked one), each as "tag#id" or
 * "tag:name", against what Tab visits from the top until it comes round again.
 */
async function tabWalk(page, limit = 80) {
  await page.evaluate(() => {
    // Controls without an id are told apart by their place in the document.
    const place = (e) => [...document.querySelectorAll("*")].indexOf(e);
    window.__label = (e) => `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : `:${(e.getAttribute("aria-label") || e.textContent).trim()}@${place(e)}`}`;
  });
  // Tab starts from where the focus was last, even after a blur: from a mark at the top.
  await page.evaluate(() => {
    const mark = document.createElement("span");
    mark.id = "tab-walk-start";
    mark.tabIndex = -1;
    document.body.prepend(mark);
    mark.focus();
  });
  const expected = await page.evaluate(() => {
    const all = [...document.querySelectorAll("a[href], button, input, select, textarea, summary, [tabindex]")];
    return all.filter((e) => e.tabIndex >= 0 && !e.disabled && e.checkVisibility({ visibilityProperty: true }) &&
      !(e.type === "radio" && e.name && !e.checked && document.querySelector(`input[name="${e.name}"]:checked`)))
      .map((e) => window.__label(e));
  });
  const visited = [];
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press("Tab");
    const here = await page.evaluate(() => (document.activeElement && document.activeElement !== document.body
      ? window.__label(document.activeElement) : null));
    if (here === null && visited.length > 0) break;
    if (here === null) continue;
    if (visited.includes(here)) break;
    visited.push(here);
  }
  await page.evaluate(() => document.querySelector("#tab-walk-start")?.remove());
  return { expected, visited };
}

/** Tab reaches every control of the page, in order. */
async function everyControlByTab(page, name) {
  const { expected, visited } = await tabWalk(page);
  assert.ok(expected.length > 0, `${name}: no controls`);
  assert.deepEqual(visited, expected, `${name}: what Tab visits`);
}

const focused = (page) => page.evaluate(() => document.activeElement?.id ?? null);

describe("login", () => {
  test("with nothing remembered it asks for a server, a user and a password", async () => {
    const page = await open(`{ app_info: () => ({ version: "0.1.0", default_server: "https://duet.example", policy: ${POLICY}, policy_error: null, policy_file: null }), resume: () => null }`);
    assert.equal(await page.inputValue("#server"), "https://duet.example");
    assert.ok(await page.isChecked("#remember"), "remember me is on by default");
    await shot(page, "login");
    await everyControlByTab(page, "login");
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  test("a remembered sign-in goes straight to the contacts", async () => {
    const contacts = JSON.stringify(CONTACTS);
    const page = await open(`{ app_info: () => ({ version: "0.1.0", default_server: null, policy: ${POLICY}, policy_error: null, policy_file: null }), resume: () => (${JSON.stringify(ALICE)}),
      contacts: () => ${contacts} }`);
    await page.waitForSelector("li.contact");
    assert.equal(await page.textContent("#me strong"), "alice");
    await page.close();
  });

  test("an expired sign-in asks to log in again", async () => {
    const page = await open(`{ app_info: () => ({ version: "0.1.0", default_server: null, policy: ${POLICY}, policy_error: null, policy_file: null }),
      resume: () => { throw { code: "token_expired", message: "Your sign-in has expired. Log in again." }; } }`);
    assert.equal(await page.textContent("#login-error"), "Your sign-in has expired. Log in again.");
    assert.equal(await page.getAttribute("#login-error", "data-code"), "token_expired");
    await shot(page, "login-expired");
    await page.close();
  });

  test("a wrong password says so, keeps what was typed and focuses the password", async () => {
    const page = await open(`{ app_info: () => ({ version: "0.1.0", default_server: null, policy: ${POLICY}, policy_error: null, policy_file: null }), resume: () => null,
      login: () => { throw { code: "unauthorized", message: "Wrong user name or password." }; } }`);
    await fillLogin(page, "http://duet.test:8443", "alice", "nope");
    await page.click("button[type=submit]");
    await page.waitForSelector("#login-error[data-code='unauthorized']");
    assert.equal(await page.textContent("#login-error"), "Wrong user name or password.");
    assert.equal(await page.inputValue("#user"), "alice");
    assert.equal(await page.evaluate(() => document.activeElement?.id), "password");
    await shot(page, "login-wrong-password");
    await page.close();
  });

  test("signing in sends the form and shows the contacts", async () => {
    const page = await open(`{ app_info: () => ({ version: "0.1.0", default_server: null, policy: ${POLICY}, policy_error: null, policy_file: null }), resume: () => null,
      login: ({ credentials }) => ({ ...${JSON.stringify(ALICE)}, server: credentials.server }), contacts: () => [] }`);
    await fillLogin(page, "http://duet.test:8443", "alice", "long enough password");
    await page.uncheck("#remember");
    await page.click("button[type=submit]");
    await page.waitForSelector("li.empty");
    const [login] = await calls(page, "login");
    assert.deepEqual(login.args.credentials,
      { server: "http://duet.test:8443", user_id: "alice", password: "long enough password", remember: false, create_account: false });
    assert.match(await page.textContent("li.empty"), /No contacts yet/);
    await page.close();
  });

  test("while signing in the form is disabled and says so", async () => {
    const page = await open(`{ app_info: () => ({ version: "0.1.0", default_server: null, policy: ${POLICY}, policy_error: null, policy_file: null }), resume: () => null,
      login: () => new Promise(() => {}) }`);
    await fillLogin(page, "http://duet.test:8443", "alice", "x");
    await page.click("button[type=submit]");
    assert.equal(await page.textContent("button[type=submit]"), "Signing in…");
    assert.ok(await page.isDisabled("#password"));
    await shot(page, "login-busy");
    await page.close();
  });

  test("trying it on this computer signs in to the built-in server", async () => {
    const page = await open(`{ app_info: () => ({ version: "0.1.0", default_server: null, policy: ${POLICY}, policy_error: null, policy_file: null }), resume: () => null,
      use_local_server: () => ({ server: "http://127.0.0.1:40000", user_id: "me", local: true, warning: null }),
      contacts: () => [${JSON.stringify(CONTACTS[2])}] }`);
    await page.click("#use-local");
    await page.waitForSelector("li.contact[data-user='echo']");
    assert.match(await page.textContent("#me"), /me on this computer/);
    await page.close();
  });
});

describe("contacts", () => {
  const signedIn = (more = "") => `{ app_info: () => ({ version: "0.1.0", default_server: null, policy: ${POLICY}, policy_error: null, policy_file: null }),
    resume: () => (${JSON.stringify(ALICE)}), contacts: () => ${JSON.stringify(CONTACTS)}, ${more} }`;

  test("online first, then busy, then offline, each with its presence", async () => {
    const page = await open(signedIn());
    await page.waitForSelector("li.contact");
    const rows = await page.$$eval("li.contact", (lis) => lis.map((li) => [li.dataset.user, li.dataset.status]));
    assert.deepEqual(rows, [["bob", "online"], ["echo", "busy"], ["carol", "offline"]]);
    await shot(page, "contacts");
    await everyControlByTab(page, "contacts");
    await page.close();
  });

  test("presence updates live", async () => {
    const page = await open(signedIn());
    await page.waitForSelector("li.contact");
    await page.evaluate(() => window.__mock.emit("presence-changed", { user_id: "carol", status: "online" }));
    await page.waitForSelector("li.contact[data-user='carol'][data-status='online']");
    assert.match(await page.textContent("li[data-user='carol'] small"), /Online/);
    await page.close();
  });

  test("search filters by name or user name", async () => {
    const page = await open(signedIn());
    await page.waitForSelector("li.contact");
    await page.fill("#search", "car");
    assert.deepEqual(await page.$$eval("li.contact", (lis) => lis.map((li) => li.dataset.user)), ["carol"]);
    await page.fill("#search", "zzz");
    assert.match(await page.textContent("li.empty"), /Nobody matches/);
    await page.close();
  });

  test("adding an unknown user says there is no such user and keeps the list", async () => {
    const page = await open(signedIn(`add_contact: ({ userId }) => { throw { code: "not_found",
      message: "There is no user \\"" + userId + "\\" on this server." }; }`));
    await page.waitForSelector("li.contact");
    await page.fill("#new-contact", "nobody");
    await page.click("#add-contact button");
    await page.waitForSelector("#contacts-error[data-code='not_found']");
    assert.equal(await page.textContent("#contacts-error"), 'There is no user "nobody" on this server.');
    assert.equal(await page.inputValue("#new-contact"), "nobody", "what was typed stays");
    assert.equal(await page.locator("li.contact").count(), 3);
    await shot(page, "contacts-add-unknown");
    await page.close();
  });

  test("adding and removing update the list", async () => {
    const dave = { user_id: "dave", display_name: "Dave", status: "online", avatar_url: null };
    const page = await open(signedIn(`add_contact: () => ${JSON.stringify([...CONTACTS, dave])},
      remove_contact: () => ${JSON.stringify(CONTACTS)}`));
    await page.waitForSelector("li.contact");
    await page.fill("#new-contact", "dave");
    await page.click("#add-contact button");
    await page.waitForSelector("li.contact[data-user='dave']");
    assert.equal(await page.inputValue("#new-contact"), "");
    await page.click("li[data-user='dave'] button.remove");
    await page.waitForSelector("li.contact[data-user='dave']", { state: "detached" });
    await page.close();
  });

  test("a lost connection shows a banner until it is back", async () => {
    const page = await open(signedIn());
    await page.waitForSelector("li.contact");
    await page.evaluate(() => window.__mock.emit("connection-changed", { online: false, reason: "connection reset" }));
    await page.waitForSelector("#connection:not([hidden])");
    await shot(page, "contacts-offline");
    await page.evaluate(() => window.__mock.emit("connection-changed", { online: true, reason: null }));
    await page.waitForSelector("#connection[hidden]", { state: "attached" });
    await page.close();
  });

  test("a sign-in the server stops accepting goes back to the login with the reason", async () => {
    const page = await open(signedIn());
    await page.waitForSelector("li.contact");
    await page.evaluate(() => window.__mock.emit("signed-out",
      { error: { code: "token_expired", message: "Your sign-in has expired. Log in again." } }));
    await page.waitForSelector("#login-error[data-code='token_expired']");
    await page.close();
  });


  test("logging out returns to the login", async () => {
    const page = await open(signedIn(`logout: () => null`));
    await page.waitForSelector("li.contact");
    await page.click("#logout");
    await page.waitForSelector("#login-form");
    assert.equal((await calls(page, "logout")).length, 1);
    await page.close();
  });
});

describe("calls", () => {
  const signedIn = (more = "") => `{ app_info: () => ({ version: "0.1.0", default_server: null, policy: ${POLICY}, policy_error: null, policy_file: null }),
    resume: () => (${JSON.stringify(ALICE)}), contacts: () => ${JSON.stringify(CONTACTS)},
    call: () => null, accept: () => null, decline: () => null, hang_up: () => null, set_switch: () => null,
    send_chat: (() => { let id = 0; return () => id++; })(), use_device: () => null,
    devices: () => ({ cameras: [], microphones: ["vmic"], speakers: ["vspeaker"] }),
    video_endpoint: () => window.__videoUrl ?? "ws://127.0.0.1:9/none", ${more} }`;
  const change = (phase, more = {}) => ({ phase, reason: null, detail: null, peer: "bob", direction: "outgoing",
    call_type: "video", duration_ms: null, ...more });
  const emit = (page, event, payload) => page.evaluate(([e, p]) => window.__mock.emit(e, p), [event, payload]);

  test("calling a contact rings with a cancel button, and cancelling says so and returns", async () => {
    const page = await open(signedIn());
    await page.waitForSelector("li.contact");
    await page.click("li[data-user='bob'] button.call.video");
    assert.deepEqual((await calls(page, "call")).map((c) => c.args), [{ peer: "bob", audioOnly: false }]);
    await emit(page, "call-changed", change("calling"));
    await page.waitForSelector("#call[data-phase='calling']");
    assert.equal(await page.textContent("#call-peer"), "Bob");
    assert.match(await page.textContent("#call-status"), /Calling… \(video call\)/);
    await shot(page, "call-outgoing");
    await page.click("#cancel");
    assert.equal((await calls(page, "hang_up")).length, 1);
    await emit(page, "call-changed", change("ended", { reason: "cancelled", duration_ms: 0 }));
    assert.equal(await page.textContent("#call-result"), "Call cancelled.");
    await page.waitForSelector("li.contact", { timeout: 5000 });
    await page.close();
  });

  test("an offline callee was sent a notification, and each outcome has its message", async () => {
    const page = await open(signedIn());
    await page.waitForSelector("li.contact");
    await page.click("li[data-user='carol'] button.call.audio");
    await emit(page, "call-changed", change("calling", { peer: "carol", call_type: "audio" }));
    await page.waitForSelector("#call[data-phase='calling']");
    assert.match(await page.textContent("#call-status"), /Carol is offline; they were sent a notification/);
    await shot(page, "call-outgoing-offline");
    const outcomes = [
      ["rejected", "Carol declined the call."],
      ["busy", "Carol is in another call. Try again later."],
      ["test_line_busy", "The test line is busy. Try again in a minute."],
      ["timeout", "Carol did not answer."],
    ];
    for (const [reason, text] of outcomes) {
      await emit(page, "call-changed", change("ended", { peer: "carol", reason, duration_ms: 0 }));
      await page.waitForSelector("#call-result");
      assert.equal(await page.textContent("#call-result"), text);
      if (reason === "timeout") await shot(page, "call-no-answer");
      // Back to the contacts, then call again for the next outcome.
      await page.click("#back");
      await page.waitForSelector("li.contact");
      await emit(page, "call-changed", change("calling", { peer: "carol", call_type: "audio" }));
      await page.waitForSelector("#call[data-phase='calling']");
    }
    await page.close();
  });

  test("an incoming video call offers accept, audio only and decline", async () => {
    const page = await open(signedIn());
    await page.waitForSelector("li.contact");
    await emit(page, "call-changed", change("ringing", { direction: "incoming" }));
    await page.waitForSelector("#call[data-phase='ringing']");
    assert.equal(await page.textContent("#call-status"), "Incoming video call");
    await shot(page, "call-incoming");
    await page.click("#accept-audio");
    assert.deepEqual((await calls(page, "accept")).map((c) => c.args), [{ audioOnly: true }]);
    await page.click("#decline");
    assert.equal((await calls(page, "decline")).length, 1);
    await emit(page, "call-changed", change("ended", { direction: "incoming", reason: "rejected", duration_ms: 0 }));
    assert.equal(await page.textContent("#call-result"), "You declined the call.");
    await page.close();
  });

  test("keyboard only: a ringing call has the focus on Accept, Enter answers, Tab reaches the others", async () => {
    const page = await open(signedIn());
    await page.waitForSelector("li.contact");
    await emit(page, "call-changed", change("ringing", { direction: "incoming" }));
    await page.waitForSelector("#call[data-phase='ringing']");
    await page.waitForFunction(() => document.activeElement?.id === "accept-video");
    await page.waitForFunction(() => document.querySelector("#call-announce").textContent === "Bob is calling: video call");
    await everyControlByTab(page, "ringing");
    await page.focus("#accept-video");
    await page.keyboard.press("Enter");
    assert.deepEqual((await calls(page, "accept")).map((c) => c.args), [{ audioOnly: false }]);
    await page.keyboard.press("Tab");
    assert.equal(await focused(page), "accept-audio");
    await page.keyboard.press("Tab");
    assert.equal(await focused(page), "decline");
    await page.keyboard.press("Space");
    assert.equal((await calls(page, "decline")).length, 1);
    await emit(page, "call-changed", change("ended", { direction: "incoming", reason: "rejected", duration_ms: 0 }));
    await page.waitForFunction(() => document.activeElement?.id === "back");
    await page.waitForFunction(() => document.querySelector("#call-announce").textContent === "You declined the call.");
    await page.close();
  });

  test("keyboard only: in a call Tab reaches every control, the small video moves with the arrows and swaps with Enter, Escape closes the menus", async () => {
    const page = await open(signedIn());
    await page.waitForSelector("li.contact");
    await emit(page, "call-changed", change("calling"));
    await page.waitForFunction(() => document.activeElement?.id === "cancel");
    await emit(page, "call-changed", change("connected"));
    await page.waitForSelector(".in-call:not([hidden])");
    await page.waitForFunction(() => document.activeElement?.id === "toggle-microphone");
    await page.waitForFunction(() => document.querySelector("#call-announce").textContent === "Connecting media…");
    await emit(page, "media-changed", { connected: true, reconnecting: false });
    await page.waitForFunction(() => document.querySelector("#call-announce").textContent === "In a call with Bob");
    await everyControlByTab(page, "in call");
    // The big video is not in the Tab order; the small one is, with a name and how to use it.
    assert.equal(await page.getAttribute("#video-remote", "tabindex"), "-1");
    assert.equal(await page.getAttribute("#video-local", "aria-label"), "Your video");
    assert.match(await page.textContent("#small-video-hint"), /Enter swaps/);

    await page.focus("#toggle-microphone");
    await page.keyboard.press("Space");
    await page.waitForFunction(() => document.querySelector("#toggle-microphone").getAttribute("aria-pressed") === "false");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.querySelector("#toggle-camera").getAttribute("aria-pressed") === "false");
    assert.deepEqual((await calls(page, "set_switch")).map((c) => c.args), [{ device: "microphone", on: false }, { device: "camera", on: false }]);

    await page.focus("#video-local");
    await page.keyboard.press("ArrowUp");
    await page.keyboard.press("ArrowLeft");
    assert.equal(await page.getAttribute("#video-local", "data-corner"), "top-left");
    await page.keyboard.press("ArrowRight");
    assert.equal(await page.getAttribute("#video-local", "data-corner"), "top-right");
    await page.keyboard.press("Enter");
    assert.ok(await page.$("#video-local.big"), "Enter on the small view makes it big");
    assert.ok(await page.$("#video-remote.small"));
    assert.equal(await focused(page), "video-remote", "the view that became small has the focus");
    assert.equal(await page.getAttribute("#video-remote", "aria-label"), "Bob's video");
    await page.keyboard.press("Space");
    assert.ok(await page.$("#video-remote.big"), "and Space swaps back");

    await page.focus("#devices");
    await page.keyboard.press("Enter");
    await page.waitForSelector("#device-menu:not([hidden])");
    await page.waitForFunction(() => document.activeElement?.id === "device-camera");
    await page.keyboard.press("Escape");
    await page.waitForSelector("#device-menu", { state: "hidden" });
    assert.equal(await focused(page), "devices");

    await emit(page, "peer-media", { audio: false, video: true });
    await page.waitForFunction(() => document.querySelector("#call-announce").textContent === "Bob muted their microphone");
    await page.focus("#hang-up");
    await page.keyboard.press("Enter");
    assert.equal((await calls(page, "hang_up")).length, 1);
    await page.close();
  });

  test("reduced motion stops the transitions; a high-contrast theme keeps the quality bars and the focus visible", async () => {
    const page = await open(signedIn());
    await page.emulateMedia({ reducedMotion: "reduce", forcedColors: "active" });
    await page.waitForSelector("li.contact");
    await emit(page, "call-changed", change("calling"));
    await emit(page, "call-changed", change("connected"));
    await page.waitForSelector(".in-call:not([hidden])");
    await emit(page, "call-stats", { quality: 2, peer_quality: 2, rtt_ms: 20, loss: 0, fps: 15, width: 960, height: 540,
      bitrate_in_kbps: 800, bitrate_out_kbps: 820, freeze_count: 0 });
    const [on, off] = await page.$$eval("#quality-mine i", (bars) => [bars[0], bars[4]].map((b) => getComputedStyle(b).backgroundColor));
    assert.notEqual(on, off, "a lit bar and an unlit one differ in a forced-colour theme");
    assert.equal(await page.getAttribute("#quality-mine", "aria-label"), "You: good");
    await page.focus("#toggle-microphone");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Shift+Tab");
    const outline = await page.$eval("#toggle-microphone", (b) => getComputedStyle(b).outlineStyle);
    assert.equal(outline, "solid", "the focus ring is drawn");
    await shot(page, "call-high-contrast");
    await page.close();

    const checks = await open(signedIn(`settings: () => ({ camera: null, microphone: null, speaker: null }), devices: () => ({ cameras: [], microphones: [], speakers: [] })`));
    await checks.emulateMedia({ reducedMotion: "reduce" });
    await checks.waitForSelector("li.contact");
    const transition = await checks.evaluate(() => {
      const fill = document.createElement("span");
      fill.className = "meter-fill";
      document.body.append(fill);
      return getComputedStyle(fill).transitionDuration;
    });
    assert.equal(transition, "0s", "the level meters jump instead of sliding");
    await checks.close();
  });

  test("a missed incoming call says so", async () => {
    const page = await open(signedIn());
    await page.waitForSelector("li.contact");
    await emit(page, "call-changed", change("ringing", { direction: "incoming", call_type: "audio" }));
    await page.waitForSelector("#call[data-phase='ringing']");
    assert.equal(await page.locator("#accept-video").count(), 0, "an audio call has no video to accept");
    await emit(page, "call-changed", change("ended", { direction: "incoming", reason: "cancelled", duration_ms: 0 }));
    assert.equal(await page.textContent("#call-result"), "Missed call from Bob.");
    await page.close();
  });

  test("in a call: timer, both qualities, a poor-network warning, the peer's indicators", async () => {
    const page = await open(signedIn());
    await page.waitForSelector("li.contact");
    await emit(page, "call-changed", change("calling"));
    await emit(page, "call-changed", change("connecting"));
    await page.waitForSelector(".in-call:not([hidden])");
    assert.equal(await page.textContent("#call-timer"), "Connecting…");
    await emit(page, "call-changed", change("connected"));
    assert.equal(await page.textContent("#call-timer"), "Connecting media…", "connected means media flows");
    await emit(page, "media-changed", { connected: true, reconnecting: false });
    await page.waitForFunction(() => document.querySelector("#call-timer").textContent === "00:01", null, { timeout: 3000 });
    const stats = { quality: 1, peer_quality: 2, rtt_ms: 20, loss: 0, fps: 15, width: 960, height: 540,
      bitrate_in_kbps: 800, bitrate_out_kbps: 820, freeze_count: 0 };
    await emit(page, "call-stats", stats);
    assert.equal(await page.locator("#quality-mine i.on").count(), 5);
    assert.equal(await page.locator("#quality-peer i.on").count(), 4);
    assert.equal(await page.isHidden("#poor-network"), true);
    await emit(page, "call-stats", { ...stats, quality: 4 });
    await page.waitForSelector("#poor-network:not([hidden])");
    assert.match(await page.textContent("#poor-network"), /Turning your camera off/);
    await emit(page, "peer-media", { audio: false, video: false });
    await page.waitForSelector("#peer-muted:not([hidden])");
    await page.waitForSelector("#peer-camera-off:not([hidden])");
    await shot(page, "call-in-call");
    await emit(page, "peer-media", { audio: true, video: true });
    await page.waitForSelector("#peer-muted", { state: "hidden" });
    assert.ok(await page.isHidden("#call-details"), "the details show on request");
    await emit(page, "call-stats", { ...stats, echo_return_loss_enhancement_db: 31.4, echo_delay_ms: 96, residual_echo_likelihood: 0.05 });
    await page.click("#call-details-button");
    await shot(page, "call-details");
    const details = await page.textContent("#call-details");
    for (const part of ["20 ms", "960×540, 15 fps", "820 / 800 kbps", "31 dB cancelled, 96 ms delay, 5% left"]) {
      assert.ok(details.includes(part), `${part} in ${details}`);
    }
    await page.close();
  });

  test("media that stops says Reconnecting… (the peer's connection dropped, when the server says so) until it is back, and a lost network says why the call ended", async () => {
    const page = await open(signedIn());
    await page.waitForSelector("li.contact");
    await emit(page, "call-changed", change("calling"));
    await emit(page, "call-changed", change("connected"));
    await page.waitForSelector(".in-call:not([hidden])");
    await emit(page, "media-changed", { connected: true, reconnecting: false });
    await page.waitForFunction(() => /^\d\d:\d\d$/.test(document.querySelector("#call-timer").textContent));
    await emit(page, "media-changed", { connected: false, reconnecting: true });
    await page.waitForFunction(() => document.querySelector("#call-timer").textContent === "Reconnecting…");
    await page.waitForFunction(() => document.querySelector("#call-announce").textContent === "Reconnecting…");
    await page.waitForTimeout(700);
    assert.equal(await page.textContent("#call-timer"), "Reconnecting…", "the timer's tick does not write over it");
    await shot(page, "call-reconnecting");
    // The server lost Bob's connection too: the trouble is on his side.
    await emit(page, "peer-connection", { online: false });
    await page.waitForFunction(() => document.querySelector("#call-timer").textContent === "Bob's connection dropped — waiting…");
    await page.waitForFunction(() => document.querySelector("#call-announce").textContent === "Bob's connection dropped — waiting…");
    await shot(page, "call-peer-away");
    await emit(page, "peer-connection", { online: true });
    await page.waitForFunction(() => document.querySelector("#call-timer").textContent === "Reconnecting…");
    await emit(page, "media-changed", { connected: true, reconnecting: false });
    await page.waitForFunction(() => /^\d\d:\d\d$/.test(document.querySelector("#call-timer").textContent));
    await emit(page, "call-changed", change("ended", { reason: "network_lost", duration_ms: 65000 }));
    assert.equal(await page.textContent("#call-result"), "The connection to Bob was lost; the call ended (01:05).");
    await page.close();
  });

  test("in a call the safety code shows on request, grouped, with what to do with it", async () => {
    const page = await open(signedIn());
    await page.waitForSelector("li.contact");
    await emit(page, "call-changed", change("calling"));
    await emit(page, "call-changed", change("connected"));
    await page.waitForSelector(".in-call:not([hidden])");
    assert.ok(await page.isHidden("#safety-code"), "no code before DTLS verified the peer");
    await emit(page, "verification", { code: "042917" });
    await page.waitForSelector("#safety-code:not([hidden])");
    assert.ok(await page.isHidden("#safety-panel"));
    await page.click("#safety-code");
    assert.equal(await page.textContent("#safety-digits"), "042 917");
    assert.match(await page.textContent("#safety-panel"), /Read these digits to Bob\. If Bob sees the same, nobody is listening in between\./);
    assert.equal(await page.getAttribute("#safety-code", "aria-expanded"), "true");
    await shot(page, "call-safety-code");
    await page.click("#safety-code");
    assert.ok(await page.isHidden("#safety-panel"));
    await page.close();
  });

  test("in a call: mute, camera, speaker, devices, swap, drag to a corner, chat and hang up", async () => {
    const page = await open(signedIn());
    await page.waitForSelector("li.contact");
    await emit(page, "call-changed", change("ringing", { direction: "incoming" }));
    await emit(page, "call-changed", change("connected", { direction: "incoming" }));
    await page.waitForSelector(".in-call:not([hidden])");
    await page.click("#toggle-microphone");
    await page.click("#toggle-camera");
    await page.click("#toggle-speaker");
    assert.deepEqual((await calls(page, "set_switch")).map((c) => c.args),
      [{ device: "microphone", on: false }, { device: "camera", on: false }, { device: "speaker", on: false }]);
    assert.equal(await page.textContent("#toggle-microphone"), "Mic off");
    await page.click("#devices");
    await page.waitForSelector("#device-menu:not([hidden])");
    assert.match(await page.textContent("#device-menu"), /No camera found/);
    await page.selectOption("#device-speaker", "vspeaker");
    assert.deepEqual((await calls(page, "use_device")).map((c) => c.args), [{ kind: "speaker", device: "vspeaker" }]);

    await page.click("#video-local");
    assert.ok(await page.$("#video-local.big"), "a click on the small view makes it big");
    assert.ok(await page.$("#video-remote.small"));
    const small = await page.locator("#video-remote").boundingBox();
    await page.mouse.move(small.x + small.width / 2, small.y + small.height / 2);
    await page.mouse.down();
    await page.mouse.move(30, 60, { steps: 5 });
    await page.mouse.up();
    assert.equal(await page.getAttribute("#video-remote", "data-corner"), "top-left");
    assert.ok(await page.$("#video-remote.small"), "a drag moves, it does not swap");

    await page.fill("#chat-input", "hello Bob");
    await page.click("#chat-form button");
    await page.waitForSelector("#chat-log li.me.sending");
    assert.equal(await page.inputValue("#chat-input"), "", "a sent message leaves the box");
    await emit(page, "chat-received", { text: "hi Alice" });
    await page.waitForSelector("#chat-log li.peer");
    await emit(page, "chat-delivered", { id: 0 });
    await page.waitForSelector("#chat-log li.me.delivered");
    const log = () => page.$$eval("#chat-log li", (lis) => lis.map((li) => [li.className, li.childNodes[1].textContent, li.querySelector(".chat-mark")?.textContent ?? null]));
    assert.deepEqual(await log(), [["me delivered", "hello Bob", "Delivered"], ["peer", "hi Alice", null]]);
    // A message over a limit is marked not sent, with the reason, and can go again.
    await page.fill("#chat-input", "one more");
    await page.click("#chat-form button");
    await page.waitForSelector("#chat-log li.me.sending");
    await emit(page, "chat-failed", { id: 1, code: "rate_limited", message: "More than 30 messages in one second" });
    await page.waitForSelector("#chat-log li.me.failed");
    assert.equal(await page.textContent("#chat-log li.failed .chat-mark"), "Not sent: More than 30 messages in one second Send again");
    await shot(page, "call-chat");
    await page.click("#chat-log li.failed .chat-again");
    await page.waitForSelector("#chat-log li.failed", { state: "detached" });
    assert.deepEqual(await log(), [["me delivered", "hello Bob", "Delivered"], ["peer", "hi Alice", null], ["me sending", "one more", "Sending…"]]);
    assert.deepEqual((await calls(page, "send_chat")).map((c) => c.args), [{ text: "hello Bob" }, { text: "one more" }, { text: "one more" }]);
    // The receipt can come before send_chat answers (on loopback): the message still shows as delivered.
    await page.evaluate(() => {
      window.__mock.handlers.send_chat = () => {
        window.__mock.emit("chat-delivered", { id: 7 });
        return 7;
      };
    });
    await page.fill("#chat-input", "quick");
    await page.click("#chat-form button");
    await page.waitForSelector("#chat-log li.me.delivered:last-child");
    assert.deepEqual((await log()).at(-1), ["me delivered", "quick", "Delivered"]);
    await emit(page, "call-problem", { code: "-1301", message: "Camera start failed; the call goes on without video" });
    await page.waitForSelector("#call-error[data-code='-1301']");
    await shot(page, "call-controls");

    await page.click("#hang-up");
    assert.equal((await calls(page, "hang_up")).length, 1);
    await emit(page, "call-changed", change("ended", { direction: "incoming", reason: "local_hangup", duration_ms: 65000 }));
    assert.equal(await page.textContent("#call-result"), "Call ended (01:05).");
    await page.close();
  });
  test("a maximised window draws video with fewer pixels and composites on the CPU without a GPU", async () => {
    const feed = await videoFeed(videoMessage(1280, 720));
    after(feed.close);
    for (const gpu of [false, true]) {
      const info = `app_info: () => ({ version: "0.1.0", default_server: null, policy: ${POLICY}, policy_error: null,
        policy_file: null, gpu: ${gpu} })`;
      const more = `${info}, video_endpoint: () => "${feed.url}", set_gpu_compositing: () => null`;
      const page = await open(signedIn(more), "", { width: 1920, height: 1080 });
      await page.waitForSelector("li.contact");
      await emit(page, "call-changed", change("calling"));
      await emit(page, "call-changed", change("connected"));
      await page.waitForSelector(".in-call:not([hidden])");
      const box = await page.locator("#video-remote").boundingBox();
      assert.ok(box.width > 1280, `the remote view is larger than the frame (${box.width} px wide)`);
      // Without a GPU: 640x360 (the software budget), scaled up by the page; with one: the frame's own size.
      const drawn = gpu ? "1280x720" : "640x360";
      await page.waitForFunction((size) => {
        const c = document.querySelector("#video-remote");
        return `${c.width}x${c.height}` === size;
      }, drawn, { timeout: 5000 });
      const compositing = (await calls(page, "set_gpu_compositing")).map((c) => c.args.on);
      assert.deepEqual(compositing, gpu ? [true] : [], "only a real GPU composites the call");
      if (gpu) await shot(page, "call-maximised");
      await page.click("#hang-up");
      await emit(page, "call-changed", change("ended", { reason: "local_hangup", duration_ms: 1000 }));
      if (gpu) {
        await page.waitForFunction(() => window.__mock.calls.filter((c) => c.cmd === "set_gpu_compositing").length === 2);
        assert.deepEqual((await calls(page, "set_gpu_compositing")).map((c) => c.args.on), [true, false],
          "the window goes back to the CPU after the call");
      }
      await page.close();
    }
  });
});

describe("history", () => {
  const now = Date.now();
  const HISTORY = [
    { invite_id: "i3", peer: "bob", outgoing: false, video: true, outcome: "missed", started_at: now - 60_000, duration_s: 0 },
    { invite_id: "i2", peer: "carol", outgoing: true, video: false, outcome: "rejected", started_at: now - 3_600_000, duration_s: 0 },
    { invite_id: "i1", peer: "bob", outgoing: true, video: true, outcome: "completed", started_at: now - 7_200_000, duration_s: 95 },
  ];
  const signedIn = `{ app_info: () => ({ version: "0.1.0", default_server: null, policy: ${POLICY}, policy_error: null, policy_file: null }),
    resume: () => (${JSON.stringify(ALICE)}), contacts: () => ${JSON.stringify(CONTACTS)},
    history: () => ${JSON.stringify(HISTORY)}, call: () => null }`;

  test("a missed call shows as a badge until the history is opened", async () => {
    const page = await open(signedIn);
    await page.waitForSelector("#missed-badge:not([hidden])");
    assert.equal(await page.textContent("#missed-badge"), "1");
    await shot(page, "contacts-missed-badge");
    await page.click("#open-history");
    await page.waitForSelector("li.record");
    await page.click("#history-back");
    await page.waitForSelector("li.contact");
    await page.waitForFunction(() => document.querySelector("#missed-badge")?.hidden === true);
    await page.close();
  });

  test("calls are listed newest first with their outcome, type and duration, and can be placed again", async () => {
    const page = await open(signedIn);
    await page.click("#open-history");
    await page.waitForSelector("li.record");
    const rows = await page.$$eval("li.record", (lis) =>
      lis.map((li) => [li.dataset.peer, li.classList.contains("missed"), li.querySelector("small").textContent.split(" · ").slice(0, 2).join(" · "),
        li.querySelector(".duration").textContent]));
    assert.deepEqual(rows, [
      ["bob", true, "Missed call · video", ""],
      ["carol", false, "Declined · audio", ""],
      ["bob", false, "Outgoing call · video", "01:35"],
    ]);
    await shot(page, "history");
    await everyControlByTab(page, "history");
    await page.click("li.record[data-outcome='rejected'] button.call");
    assert.deepEqual((await calls(page, "call")).map((c) => c.args), [{ peer: "carol", audioOnly: true }]);
    await page.close();
  });
});

describe("desktop", () => {
  const now = Date.now();
  const RINGING = { phase: "ringing", reason: null, detail: null, peer: "bob", direction: "incoming", call_type: "video", duration_ms: null,
    invite_id: "inv-8" };

  test("the incoming-call window shows who calls and answers from there", async () => {
    const page = await open(`{ current_call: () => (${JSON.stringify(RINGING)}), accept: () => null, decline: () => null }`, "#incoming");
    await page.waitForSelector("#accept-video");
    assert.equal(await page.textContent("#incoming-peer"), "bob");
    assert.equal(await page.textContent("#incoming-kind"), "Incoming video call");
    await shot(page, "incoming-window");
    assert.equal(await focused(page), "accept-video", "the window opens with the focus on Accept: Enter answers");
    await everyControlByTab(page, "incoming window");
    await page.click("#accept-video");
    assert.deepEqual((await calls(page, "accept")).map((c) => c.args), [{ audioOnly: false }]);
    await page.evaluate((c) => window.__mock.emit("call-changed", { ...c, phase: "ended", reason: "cancelled" }), RINGING);
    await page.waitForSelector("#accept-video", { state: "detached" });
    assert.equal(await page.textContent("#incoming-kind"), "The call is over.");
    await page.close();
  });

  test("a duet://invite link to a call that no longer rings shows it in the history as missed", async () => {
    const history = [{ invite_id: "inv-7", peer: "bob", outgoing: false, video: true, outcome: "missed", started_at: now - 120_000, duration_s: 0 }];
    const page = await open(`{ app_info: () => ({ version: "0.1.0", default_server: null, policy: ${POLICY}, policy_error: null, policy_file: null }), resume: () => (${JSON.stringify(ALICE)}),
      contacts: () => ${JSON.stringify(CONTACTS)}, history: () => ${JSON.stringify(history)}, take_invite_link: () => "inv-7" }`);
    await page.waitForSelector("li.record.highlight[data-invite='inv-7']", { timeout: 8000 });
    const at = await page.evaluate((ms) => new Date(ms).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" }), history[0].started_at);
    assert.equal(await page.textContent("#history-notice"), `Missed call from Bob at ${at}.`);
    await shot(page, "invite-link-missed");
    await page.close();
  });

  test("a duet://invite link to a call that still rings lands on the call", async () => {
    const page = await open(`{ app_info: () => ({ version: "0.1.0", default_server: null, policy: ${POLICY}, policy_error: null, policy_file: null }), resume: () => (${JSON.stringify(ALICE)}),
      contacts: () => ${JSON.stringify(CONTACTS)}, history: () => [], take_invite_link: () => null }`);
    await page.waitForSelector("li.contact");
    await page.evaluate(() => window.__mock.emit("invite-link-opened", { invite_id: "inv-8" }));
    await page.evaluate((c) => window.__mock.emit("call-changed", c), RINGING);
    await page.waitForSelector("#call[data-phase='ringing'][data-invite='inv-8']");
    await new Promise((resolve) => setTimeout(resolve, 3500));
    assert.ok(await page.$("#call[data-phase='ringing']"), "still on the ringing call, not the history");
    await page.close();
  });
});

describe("settings", () => {
  const SETTINGS = { camera: null, microphone: "vmic", speaker: null, quality: "standard",
    beauty: { enabled: false, smoothing: 5, whitening: 3, ruddiness: 2, sharpening: 2 }, start_at_login: false,
    ringtone: "chime", ringtone_volume: 50, language: null, relay_only: false,
    voice: { echo_cancellation: true, noise_suppression: "moderate", auto_gain: true } };
  const handlers = (more = "") => `{ app_info: () => ({ version: "0.1.0", default_server: null, policy: ${POLICY}, policy_error: null, policy_file: null }),
    resume: () => (${JSON.stringify(ALICE)}), contacts: () => ${JSON.stringify(CONTACTS)},
    settings: () => (${JSON.stringify(SETTINGS)}),
    devices: () => ({ cameras: ["USB Camera"], microphones: ["vmic"], speakers: ["vspeaker"] }), ${more} }`;

  test("devices, sound processing, quality, beauty defaults, relaying and start at login are saved together", async () => {
    const page = await open(handlers(`save_settings: ({ settings }) => settings`));
    await page.click("#open-settings");
    await page.waitForSelector("#setting-camera");
    await everyControlByTab(page, "settings");
    assert.equal(await page.inputValue("#setting-microphone"), "vmic");
    await page.selectOption("#setting-camera", "USB Camera");
    await page.check("#quality-hd");
    await page.check("#default-beauty-enabled");
    await page.fill("#default-beauty-smoothing", "8");
    await page.check("#start-at-login");
    await page.check("#relay-only");
    assert.ok(await page.isChecked("#voice-echo-cancellation") && await page.isChecked("#voice-auto-gain"), "on by default");
    await page.uncheck("#voice-auto-gain");
    await page.selectOption("#voice-noise-suppression", "high");
    await shot(page, "settings");
    await page.click("#settings-form button.primary");
    await page.waitForSelector("#settings-saved:not(:empty)");
    const [saved] = (await calls(page, "save_settings")).map((c) => c.args.settings);
    assert.deepEqual(saved, { ...SETTINGS, camera: "USB Camera", quality: "hd", start_at_login: true, relay_only: true,
      beauty: { ...SETTINGS.beauty, enabled: true, smoothing: 8 },
      voice: { echo_cancellation: true, noise_suppression: "high", auto_gain: false } });
    assert.match(await page.textContent("#settings-saved"), /Sound settings apply at once/);
    await page.close();
  });

  test("a newer version shows its notes and installs; a refused package says why", async () => {
    const page = await open(handlers(`check_for_update: () => ({ version: "0.2.0", current_version: "0.1.0", notes: "Sharper video.", date: null }),
      install_update: () => { throw { code: "update", message: "The downloaded version 0.2.0 is not signed by Duet's release key (tampered, or signed with another key): it is not installed." }; }`));
    await page.click("#open-settings");
    await page.click("#check-update");
    await page.waitForSelector("#install-update:not([hidden])");
    assert.match(await page.textContent("#update-status"), /Version 0\.2\.0 is available/);
    assert.equal(await page.textContent("#release-notes"), "Sharper video.");
    await shot(page, "settings-update");
    await page.click("#install-update");
    await page.waitForSelector("#update-error[data-code='update']");
    assert.match(await page.textContent("#update-error"), /not signed by Duet's release key/);
    await page.close();
  });

  test("the ringtone and its volume can be heard before saving them", async () => {
    const page = await open(handlers(`save_settings: ({ settings }) => settings, preview_ringtone: () => null`));
    await page.click("#open-settings");
    await page.selectOption("#setting-ringtone", "classic");
    await page.fill("#setting-ringtone-volume", "80");
    await page.selectOption("#setting-speaker", "vspeaker");
    await page.click("#preview-ringtone");
    assert.deepEqual((await calls(page, "preview_ringtone")).map((c) => c.args),
      [{ ringtone: "classic", volume: 80, speaker: "vspeaker" }]);
    await page.click("#settings-form button.primary");
    await page.waitForSelector("#settings-saved:not(:empty)");
    const [saved] = (await calls(page, "save_settings")).map((c) => c.args.settings);
    assert.equal(saved.ringtone, "classic");
    assert.equal(saved.ringtone_volume, 80);
    await page.close();
  });

  test("choosing Chinese shows the app in Chinese, from the settings and at the next start", async () => {
    const page = await open(handlers(`save_settings: ({ settings }) => settings`));
    await page.click("#open-settings");
    await page.selectOption("#setting-language", "zh");
    await page.click("#settings-form button.primary");
    await page.waitForSelector("#settings-back:text('返回')");
    assert.equal(await page.getAttribute("html", "lang"), "zh-CN");
    assert.equal(await page.textContent(".settings-screen header h2"), "设置");
    await shot(page, "settings-chinese");
    await page.click("#settings-back");
    await page.waitForSelector("#open-history:text('通话记录')");
    assert.match(await page.textContent("li.contact[data-user='bob']"), /在线/);
    await page.close();

    const chinese = await open(`{ app_info: () => ({ version: "0.1.0", default_server: null, policy: ${POLICY}, policy_error: null, policy_file: null }), resume: () => null,
      settings: () => (${JSON.stringify({ ...SETTINGS, language: "zh" })}),
      login: (() => { const errors = [
        { code: "unreachable", message: "Cannot reach the server at http://10.0.0.9:8443: connection refused." },
        { code: "internal", message: "Something no table knows." },
        { code: "device", message: "The camera is in use by another application; close it and try again; the call goes on without video" },
      ]; return () => { throw errors.shift(); }; })() }`);
    assert.equal(await chinese.textContent("#login-title"), "登录");
    assert.equal(await chinese.textContent("#use-local"), "在本机试用");
    await shot(chinese, "login-chinese");
    // Messages from the Rust side in Chinese: by pattern, and failing that a headline with the English detail.
    await fillLogin(chinese, "http://10.0.0.9:8443", "alice", "secret");
    await chinese.click("#login-form button.primary");
    await chinese.waitForSelector("#login-error:text('无法连接服务器')");
    assert.equal(await chinese.textContent("#login-error"), "无法连接服务器 http://10.0.0.9:8443：connection refused。");
    await chinese.click("#login-form button.primary");
    await chinese.waitForSelector("#login-error:text('出错了')");
    assert.equal(await chinese.textContent("#login-error"), "出错了（Something no table knows.）");
    // A message of several parts is translated part by part.
    await chinese.click("#login-form button.primary");
    await chinese.waitForSelector("#login-error:text('摄像头')");
    assert.equal(await chinese.textContent("#login-error"), "摄像头正被其他应用占用；请关闭它后重试；通话继续，但没有视频。");
    await chinese.close();
  });

  test("a setting that cannot be applied says why and keeps the form", async () => {
    const page = await open(handlers(`save_settings: () => { throw { code: "internal",
      message: "Duet cannot start at login here: no autostart directory." }; }`));
    await page.click("#open-settings");
    await page.check("#start-at-login");
    await page.click("#settings-form button.primary");
    await page.waitForSelector("#settings-error[data-code='internal']");
    assert.match(await page.textContent("#settings-error"), /cannot start at login/);
    assert.ok(await page.isChecked("#start-at-login"));
    await page.close();
  });

  test("in a video call the beauty sliders change the filter live", async () => {
    const page = await open(handlers(`set_beauty: () => null, video_endpoint: () => "ws://127.0.0.1:9/none"`));
    await page.waitForSelector("li.contact");
    for (const phase of ["calling", "connected"]) {
      await page.evaluate((phase) => window.__mock.emit("call-changed", { phase, reason: null, detail: null,
        peer: "bob", direction: "outgoing", call_type: "video", duration_ms: null }), phase);
    }
    await page.click("#beauty");
    await page.check("#beauty-enabled");
    await page.fill("#beauty-whitening", "6");
    const sent = (await calls(page, "set_beauty")).map((c) => c.args.beauty);
    assert.deepEqual(sent.at(-1), { ...SETTINGS.beauty, enabled: true, whitening: 6 });
    await shot(page, "call-beauty");
    await page.close();
  });
});

describe("check devices", () => {
  const DEVICES = { cameras: ["USB Camera"], microphones: ["vmic"], speakers: ["vspeaker"] };
  const handlers = (signedIn, more = "") => `{ app_info: () => ({ version: "0.1.0", default_server: null, policy: ${POLICY}, policy_error: null, policy_file: null }),
    resume: () => (${signedIn ? JSON.stringify(ALICE) : "null"}), contacts: () => ${JSON.stringify(CONTACTS)},
    settings: () => ({ camera: null, microphone: null, speaker: null, quality: "standard",
      beauty: { enabled: false, smoothing: 5, whitening: 3, ruddiness: 2, sharpening: 2 }, start_at_login: false }),
    devices: () => (${JSON.stringify(DEVICES)}), start_checks: () => (${JSON.stringify(DEVICES)}), stop_checks: () => null,
    video_endpoint: () => "ws://127.0.0.1:9/none",
    check_camera: () => ({ name: "USB Camera", width: 960, height: 540, fps: 15 }),
    check_microphone: () => "vmic", check_speaker: () => "vspeaker", record_and_play_back: () => null,
    finish_check: ({ step, answer }) => answer === false
      ? { step, status: "failed", summary: step + " works, but the tester heard nothing", advice: "Turn the volume up.", code: null }
      : { step, status: answer === null ? "skipped" : "ok", summary: answer === null ? "Not checked" : step + " works", advice: null, code: null },
    save_check_report: () => ({ html_path: "/home/a/.local/share/duet/reports/report.html",
      json_path: "/home/a/.local/share/duet/reports/report.json", broken: true, outcomes: [], text: "" }),
    ${more} }`;
  const emit = (page, event, payload) => page.evaluate(([e, p]) => window.__mock.emit(e, p), [event, payload]);

  test("from the login: camera, microphone, speaker, network and a saved report, with meters and advice", async () => {
    const page = await open(handlers(false));
    await page.click("#login-check-devices");
    await page.waitForSelector("#camera-info:text('USB Camera · 960×540 · 15 fps')");
    assert.equal(await page.getAttribute("#check-steps li[aria-current]", "data-step"), "camera");
    await shot(page, "checks-camera");
    await page.click("#camera-yes");

    await page.waitForSelector("#mic-status:text('Listening to vmic')");
    await emit(page, "mic-level", { level: 64 });
    assert.equal(await page.getAttribute("#mic-level", "aria-valuenow"), "64");
    await page.selectOption("#check-playback-speaker", "vspeaker");
    await page.click("#mic-record");
    await page.waitForSelector("#mic-status:text('Playing your recording back')");
    assert.deepEqual((await calls(page, "record_and_play_back")).map((c) => c.args.speaker), ["vspeaker"]);
    await emit(page, "speaker-level", { level: 40, finished: false });
    assert.equal(await page.getAttribute("#playback-level", "aria-valuenow"), "40");
    await shot(page, "checks-microphone");
    await page.click("#microphone-no");

    await page.waitForSelector("#speaker-status:text('Playing a short tune on vspeaker')");
    await emit(page, "speaker-level", { level: 55, finished: false });
    await emit(page, "speaker-level", { level: 0, finished: true });
    await page.waitForSelector("#speaker-status[data-finished='true']");
    await shot(page, "checks-speaker");
    await page.click("#speaker-yes");

    await page.waitForSelector("#network-run[disabled]");
    assert.match(await page.textContent("#check-body"), /Sign in first/);
    await page.click("#network-skip");

    await page.waitForSelector("#report-outcomes");
    assert.match(await page.textContent("#report-verdict"), /found problems/);
    assert.equal(await page.getAttribute("#outcome-microphone", "data-status"), "failed");
    assert.match(await page.textContent("#outcome-microphone"), /Turn the volume up/);
    assert.equal(await page.getAttribute("#outcome-network", "data-status"), "skipped");
    assert.deepEqual((await page.$$eval("#check-steps li", (items) => items.map((li) => li.className))),
      ["ok", "failed", "ok", "skipped", "current"]);
    await page.click("#checks-save");
    await page.waitForSelector("#report-saved[data-path$='report.html']");
    await shot(page, "checks-report");
    assert.deepEqual((await calls(page, "finish_check")).map((c) => [c.args.step, c.args.answer]),
      [["camera", true], ["microphone", false], ["speaker", true], ["network", null]]);

    await page.click("#checks-retest");
    await page.waitForSelector("#check-steps li.current[data-step='camera']");
    await page.click("#checks-back");
    await page.waitForSelector("#login-form");
    assert.ok((await calls(page, "stop_checks")).length >= 1, "leaving closes the devices");
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  test("a camera that cannot start says why and what to do, and the check goes on", async () => {
    const page = await open(handlers(false, `check_camera: () => { throw { code: "device",
      message: "The camera is used by another application (-1316). Close the other application using the camera, then retest." }; }`));
    await page.click("#login-check-devices");
    await page.waitForSelector("#check-error[data-code='device']");
    assert.match(await page.textContent("#check-error"), /another application/);
    await shot(page, "checks-camera-busy");
    await page.click("#camera-next");
    await page.waitForSelector("#check-steps li.current[data-step='microphone']");
    await page.close();
  });

  test("a device unplugged during the check refreshes the menu and shows the failure", async () => {
    const page = await open(handlers(false));
    await page.click("#login-check-devices");
    await page.waitForSelector("#camera-yes");
    await emit(page, "check-devices-changed", { devices: { ...DEVICES, cameras: ["USB Camera", "Laptop Camera"] } });
    assert.deepEqual(await page.$$eval("#check-camera option", (o) => o.map((x) => x.textContent)),
      ["System default", "USB Camera", "Laptop Camera"]);
    await emit(page, "check-failed", { outcome: { step: "camera", status: "failed", summary: "USB Camera stopped sending pictures",
      advice: "Unplug the camera and plug it in again, then retest.", code: -1301 } });
    await page.waitForSelector("#camera-next");
    assert.match(await page.textContent("#check-error"), /plug it in again/);
    await page.close();
  });

  test("signed in, from the settings: the network test shows its progress and figures, and is refused in a call", async () => {
    const result = { outcome: { step: "network", status: "ok", summary: "Quality 1 (excellent): RTT 24 ms", advice: null, code: null },
      figures: { server: "203.0.113.5", quality: 1, up_loss: 0.01, down_loss: 0.002, rtt_ms: 24, jitter_ms: 3, up_kbps: 2900, down_kbps: -1 } };
    const page = await open(handlers(true, `test_network: () => new Promise((resolve) => { window.__finishTest = () => resolve(${JSON.stringify(result)}); })`));
    await page.click("#open-settings");
    await page.click("#settings-check-devices");
    for (const step of ["camera", "microphone", "speaker"]) {
      await page.click(`#${step}-skip`);
    }
    await page.click("#network-run");
    await emit(page, "speed-test-progressed", { phase: "upload", percent: 60 });
    await page.waitForSelector("#network-phase:text('Measuring upload speed')");
    assert.equal(await page.getAttribute("#network-progress", "value"), "60");
    await page.evaluate(() => window.__finishTest());
    await page.waitForSelector("#network-figures dd");
    const text = await page.textContent("#network-figures");
    for (const part of ["24 ms", "1.0% / 0.2%", "2900 kbps", "not tested", "203.0.113.5"]) assert.ok(text.includes(part), `${part} in ${text}`);
    await shot(page, "checks-network");
    await page.close();

    const inCall = await open(handlers(true, `test_network: () => { throw { code: "in_call",
      message: "The network test cannot run during a call: it would take the call's bandwidth. Run it after hanging up." }; }`));
    await inCall.click("#open-settings");
    await inCall.click("#settings-check-devices");
    for (const step of ["camera", "microphone", "speaker"]) await inCall.click(`#${step}-skip`);
    await inCall.click("#network-run");
    await inCall.waitForSelector("#check-error[data-code='in_call']");
    await inCall.close();
  });
});

describe("administrator's policy", () => {
  const info = (policy, extra = "") => `{ app_info: () => ({ version: "0.1.0", default_server: null,
    policy: ${JSON.stringify({ ...NO_POLICY, ...policy })}, policy_error: null, policy_file: "/etc/duet/policy.json" ${extra} }),
    resume: () => null, login: () => { throw { code: "policy", message: "should not be sent" }; } }`;

  test("a locked server is filled in and read-only, and the built-in server and new accounts are not offered", async () => {
    const page = await open(info({ server: "https://duet.corp.example", lock_server: true, allow_local_server: false, allow_registration: false }));
    assert.equal(await page.inputValue("#server"), "https://duet.corp.example");
    assert.ok(await page.$eval("#server", (el) => el.readOnly), "the locked server cannot be edited");
    assert.match(await page.textContent("#server-managed"), /administrator/);
    assert.equal(await page.$("#use-local"), null, "no built-in server");
    assert.equal(await page.$("#create-account"), null, "no new accounts");
    await shot(page, "login-managed");
    await page.close();
  });

  test("creating an account sends the choice with the sign-in", async () => {
    const page = await open(`{ app_info: () => ({ version: "0.1.0", default_server: null, policy: ${POLICY}, policy_error: null, policy_file: null }),
      resume: () => null, login: ({ credentials }) => ({ ...${JSON.stringify(ALICE)}, user_id: credentials.user_id }), contacts: () => [], history: () => [] }`);
    await fillLogin(page, "http://duet.test:8443", "dora", "secret");
    await page.check("#create-account");
    await page.click("#login-form button.primary");
    await page.waitForSelector("#contacts");
    const [sent] = (await calls(page, "login")).map((c) => c.args.credentials);
    assert.equal(sent.create_account, true);
    await page.close();
  });

  test("a broken policy file says so and nobody signs in until it is fixed", async () => {
    const page = await open(info({ allow_local_server: false, allow_registration: false },
      `, policy_error: "The administrator's policy /etc/duet/policy.json is not valid: unknown field lock_sever."`));
    await page.waitForSelector("#login-error[data-code='policy']");
    assert.match(await page.textContent("#login-error"), /policy.json is not valid/);
    assert.ok(await page.isDisabled("#login-form button.primary"));
    await page.close();
  });

  test("the settings list what the administrator manages", async () => {
    const managed = { ...NO_POLICY, server: "https://duet.corp.example", lock_server: true, update_channel: "off", relay_only: true,
      echo_cancellation: true, noise_suppression: "high" };
    const page = await open(`{ app_info: () => ({ version: "0.1.0", default_server: null, policy: ${JSON.stringify(managed)},
      policy_error: null, policy_file: "/etc/duet/policy.json" }), resume: () => (${JSON.stringify(ALICE)}),
      contacts: () => ${JSON.stringify(CONTACTS)}, history: () => [],
      settings: () => ({ camera: null, microphone: null, speaker: null, quality: "standard", beauty: { enabled: false,
        smoothing: 5, whitening: 3, ruddiness: 2, sharpening: 2 }, start_at_login: false, ringtone: "chime", ringtone_volume: 50, language: null,
        voice: { echo_cancellation: false, noise_suppression: "off", auto_gain: true } }),
      devices: () => ({ cameras: [], microphones: [], speakers: [] }) }`);
    await page.click("#open-settings");
    await page.waitForSelector("#managed");
    const text = await page.textContent("#managed");
    for (const part of ["https://duet.corp.example (locked)", "administrator installs new versions", "always go through your server's relay",
      "Some sound settings are set for you", "/etc/duet/policy.json"]) {
      assert.ok(text.includes(part), `${part} in ${text}`);
    }
    assert.ok(await page.isChecked("#relay-only") && await page.isDisabled("#relay-only"), "relaying is on and locked");
    assert.ok(await page.isChecked("#voice-echo-cancellation") && await page.isDisabled("#voice-echo-cancellation"),
      "echo cancellation is on and locked, whatever the user chose");
    assert.equal(await page.inputValue("#voice-noise-suppression"), "high");
    assert.ok(await page.isDisabled("#voice-noise-suppression"));
    assert.ok(await page.isChecked("#voice-auto-gain") && await page.isEnabled("#voice-auto-gain"), "what the policy leaves out stays the user's");
    assert.equal(await page.$("#updates"), null, "no update checks when the administrator installs versions");
    await page.close();
  });
});

describe("the first minutes explain themselves", () => {
  const SETTINGS = { camera: null, microphone: null, speaker: null, quality: "standard",
    beauty: { enabled: false, smoothing: 5, whitening: 3, ruddiness: 2, sharpening: 2 }, start_at_login: false,
    ringtone: "chime", ringtone_volume: 50, language: null, relay_only: false };
  const INFO = `app_info: () => ({ version: "0.1.0", default_server: null, policy: ${POLICY}, policy_error: null, policy_file: null })`;
  const zh = `settings: () => (${JSON.stringify({ ...SETTINGS, language: "zh" })})`;
  const KEYRING = {
    code: "keyring",
    message: "Duet cannot reach the system keyring, so it cannot remember your sign-in. Start your desktop's keyring (GNOME Keyring or KWallet) or log in to a full desktop session, then sign in again.",
    detail: "SS error: result not returned from SS API",
  };
  const NOTIFICATIONS = {
    code: "notifications",
    message: "This desktop shows no notifications, so an incoming call cannot be announced while Duet is in the background. Start your desktop's notification service (or install one, such as dunst); until then keep Duet's window open.",
    detail: "nothing owns or can start org.freedesktop.Notifications on the session bus",
  };

  test("a server with an echo user offers a test call, in the header and in the empty list", async () => {
    const account = { ...ALICE, echo_user: "echo" };
    const page = await open(`{ ${INFO}, resume: () => (${JSON.stringify(account)}), contacts: () => [], call: () => null }`);
    await page.waitForSelector("li.empty .test-call");
    assert.equal(await page.textContent("#test-call button"), "Make a test call");
    await shot(page, "contacts-test-call");
    await page.click("li.empty .test-call");
    await page.click("#test-call button");
    assert.deepEqual((await calls(page, "call")).map((c) => c.args), [{ peer: "echo", audioOnly: false }, { peer: "echo", audioOnly: false }]);
    // The echo is named as the test call, not by its user id.
    await page.evaluate(() => window.__mock.emit("call-changed", { phase: "calling", reason: null, detail: null, peer: "echo",
      direction: "outgoing", call_type: "video", duration_ms: null }));
    await page.waitForSelector("#call[data-phase='calling']");
    assert.equal(await page.textContent("#call-peer"), "Echo test call");
    await page.close();

    const without = await open(`{ ${INFO}, resume: () => (${JSON.stringify(ALICE)}), contacts: () => [] }`);
    await without.waitForSelector("li.empty");
    assert.equal(await without.$(".test-call"), null, "no test call where the server has no echo user");
    await without.close();

    const chinese = await open(`{ ${INFO}, ${zh}, resume: () => (${JSON.stringify(account)}), contacts: () => [] }`);
    await chinese.waitForSelector("li.empty .test-call");
    assert.equal(await chinese.textContent("#test-call button"), "拨打测试通话");
    await chinese.close();
  });

  test("the device checks end with the test call", async () => {
    const account = { ...ALICE, echo_user: "echo" };
    const page = await open(`{ ${INFO}, resume: () => (${JSON.stringify(account)}), contacts: () => [], call: () => null,
      ${"settings: () => (" + JSON.stringify(SETTINGS) + ")"}, devices: () => ({ cameras: [], microphones: [], speakers: [] }),
      start_checks: () => ({ cameras: [], microphones: [], speakers: [] }), stop_checks: () => null,
      check_camera: () => ({ name: "USB Camera", width: 960, height: 540, fps: 15 }), check_microphone: () => "vmic",
      check_speaker: () => "vspeaker", test_network: () => null,
      finish_check: ({ step }) => ({ step, status: "skipped", summary: "Not checked", advice: null, code: null }) }`);
    await page.click("#open-settings");
    await page.click("#settings-check-devices");
    for (const step of ["camera", "microphone", "speaker", "network"]) await page.click(`#${step}-skip`);
    await page.waitForSelector("#checks-test-call");
    await shot(page, "checks-test-call");
    await page.click("#checks-test-call");
    assert.deepEqual((await calls(page, "call")).map((c) => c.args), [{ peer: "echo", audioOnly: false }]);
    await page.close();
  });

  test("a keyring that cannot remember the sign-in says what to do, with the library's words behind Details", async () => {
    const warned = { ...ALICE, warning: KEYRING };
    const page = await open(`{ ${INFO}, resume: () => (${JSON.stringify(warned)}), contacts: () => [] }`);
    await page.waitForSelector("#sign-in-warning[data-code='keyring']");
    assert.equal(await page.textContent("#sign-in-warning p"), KEYRING.message);
    assert.equal(await page.isVisible("#sign-in-warning .detail"), false, "the detail is folded away");
    await page.click("#sign-in-warning summary");
    assert.equal(await page.textContent("#sign-in-warning .detail"), KEYRING.detail);
    await shot(page, "keyring-warning");
    await page.close();

    const chinese = await open(`{ ${INFO}, ${zh}, resume: () => (${JSON.stringify(warned)}), contacts: () => [] }`);
    await chinese.waitForSelector("#sign-in-warning");
    assert.match(await chinese.textContent("#sign-in-warning p"), /^Duet 无法访问系统钥匙串/);
    assert.equal(await chinese.textContent("#sign-in-warning summary"), "详细信息");
    await shot(chinese, "keyring-warning-chinese");
    await chinese.close();
  });

  test("a desktop without a notification service or a sound server is told once, in words", async () => {
    const page = await open(`{ ${INFO}, resume: () => (${JSON.stringify(ALICE)}), contacts: () => ${JSON.stringify(CONTACTS)},
      system_notices: () => [${JSON.stringify(NOTIFICATIONS)}, { code: "audio", detail: "PulseAudio: connection refused",
        message: "No sound server is running, so calls will have no sound. Start your desktop's sound service (PipeWire or PulseAudio) or log in to a full desktop session, then call again." }],
      history: () => [], ${"settings: () => (" + JSON.stringify(SETTINGS) + ")"}, devices: () => ({ cameras: [], microphones: [], speakers: [] }) }`);
    await page.waitForSelector("#system-notices .notice[data-code='notifications']");
    await page.waitForSelector("#system-notices .notice[data-code='audio']");
    assert.equal(await page.isVisible("#system-notices .notice[data-code='audio'] .detail"), false);
    // Back from the settings: not said again.
    await page.click("#open-settings");
    await page.click("#settings-back");
    await page.waitForSelector("li.contact");
    assert.equal(await page.locator("#system-notices .notice").count(), 0);
    assert.equal((await calls(page, "system_notices")).length, 1);
    await page.close();

    const chinese = await open(`{ ${INFO}, ${zh}, resume: () => (${JSON.stringify(ALICE)}), contacts: () => [],
      system_notices: () => [${JSON.stringify(NOTIFICATIONS)}] }`);
    await chinese.waitForSelector("#system-notices .notice");
    assert.match(await chinese.textContent("#system-notices .notice p"), /^此桌面无法显示通知/);
    await chinese.close();
  });

  describe("a side without video", () => {
    const handlers = (more = "") => `{ ${INFO}, resume: () => (${JSON.stringify(ALICE)}), contacts: () => ${JSON.stringify(CONTACTS)},
      call: () => null, hang_up: () => null, set_switch: () => null, history: () => [],
      ${"settings: () => (" + JSON.stringify(SETTINGS) + ")"}, devices: () => ({ cameras: [], microphones: [], speakers: [] }),
      start_checks: () => ({ cameras: [], microphones: [], speakers: [] }), stop_checks: () => null,
      video_endpoint: () => "ws://127.0.0.1:9/none", ${more} }`;
    const emit = (page, event, payload) => page.evaluate(([e, p]) => window.__mock.emit(e, p), [event, payload]);
    const inCall = async (page) => {
      await page.waitForSelector("li.contact");
      const change = (phase) => ({ phase, reason: null, detail: null, peer: "bob", direction: "outgoing", call_type: "video", duration_ms: null });
      await emit(page, "call-changed", change("calling"));
      await emit(page, "call-changed", change("connected"));
      await page.waitForSelector(".in-call:not([hidden])");
    };

    test("no camera here: our tile shows our initial and why, and so does the peer's when it has none", async () => {
      const page = await open(handlers());
      await inCall(page);
      assert.equal(await page.isVisible("#local-camera-off"), false, "nothing covers a view before its side says");
      await emit(page, "local-media", { audio: true, video: false, audio_off: null, video_off: "no_device" });
      await page.waitForSelector("#local-camera-off:not([hidden])");
      assert.equal(await page.textContent("#local-camera-off .avatar"), "A");
      assert.equal(await page.textContent("#local-camera-off .why"), "No camera found");
      assert.equal(await page.isVisible("#local-mic-off"), false);

      await emit(page, "peer-media", { audio: false, video: false, audio_off: "no_device", video_off: "in_use" });
      await page.waitForSelector("#peer-camera-off:not([hidden])");
      assert.equal(await page.textContent("#peer-camera-off .avatar"), "B");
      assert.equal(await page.textContent("#peer-camera-off .why"), "Camera is used by another app");
      assert.match(await page.textContent("#peer-mic-off"), /No microphone found/);
      await shot(page, "call-no-camera");

      // The tiles follow their views when they swap.
      await page.click("#swap");
      assert.equal(await page.getAttribute(".feed-tile[data-feed='local']", "class"), "feed-tile big");
      assert.equal(await page.getAttribute(".feed-tile[data-feed='remote']", "class"), "feed-tile small");
      // The camera turned off by the user says so; back on, the tile goes.
      await emit(page, "local-media", { audio: true, video: false, audio_off: null, video_off: "off" });
      await page.waitForSelector("#local-camera-off .why:text('Camera off')");
      await emit(page, "local-media", { audio: true, video: true, audio_off: null, video_off: null });
      await page.waitForSelector(".feed-tile[data-feed='local']", { state: "hidden" });
      assert.deepEqual(page.errors, []);
      await page.close();
    });

    test("in Chinese", async () => {
      const page = await open(handlers(zh));
      await inCall(page);
      await emit(page, "local-media", { audio: false, video: false, audio_off: "off", video_off: "no_device" });
      await page.waitForSelector("#local-camera-off:not([hidden])");
      assert.equal(await page.textContent("#local-camera-off .why"), "未找到摄像头");
      assert.match(await page.textContent("#local-mic-off"), /已静音/);
      await emit(page, "peer-media", { audio: true, video: false, audio_off: null, video_off: "in_use" });
      await page.waitForSelector("#peer-camera-off .why:text('摄像头正被其他应用占用')");
      await shot(page, "call-no-camera-chinese");
      await page.close();
    });

    test("a device that fails says so once, with the device checks a click away after the call", async () => {
      const page = await open(handlers());
      await inCall(page);
      await emit(page, "call-problem", { code: "-1301", message: "No camera was found; the call goes on without video" });
      await page.waitForSelector("#call-error[data-code='-1301']");
      await page.click("#check-devices-later");
      assert.match(await page.textContent("#check-devices-later"), /open when the call ends/);
      await page.evaluate(() => window.__mock.emit("call-changed", { phase: "ended", reason: "local_hangup", detail: null, peer: "bob",
        direction: "outgoing", call_type: "video", duration_ms: 4000 }));
      await page.waitForSelector("#call-result");
      await page.waitForSelector(".checks-screen, #checks", { timeout: 6000 });
      await page.close();
    });
  });
});
