// The first run as a newcomer lives it, through the real app (tauri-driver's
// WebDriver): sign in, make the test call from the contacts, stay in it a few
// seconds, hang up. `scripts/run.sh --smoke` starts the server and
// tauri-driver and runs this; it exits non-zero with what the page said when a
// step fails.
//
// Environment: DUET_DRIVER (WebDriver URL), DUET_APP (the app's binary),
// DUET_SERVER (filled in by the app), DUET_USER, DUET_PASSWORD.

const ELEMENT = "element-6066-11e4-a52e-4f735466cecf";
const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const driver = env("DUET_DRIVER");

async function request(method, path, body) {
  const response = await fetch(driver + path, {
    method,
    headers: body ? { "content-type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const reply = await response.json().catch(() => ({}));
  if (reply.value?.error) throw new Error(`WebDriver ${path}: ${reply.value.error}: ${reply.value.message}`);
  return reply.value;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let session = null;
const run = (path, body, method = "POST") => request(method, `/session/${session}${path}`, body);
const execute = (script, args = []) => run("/execute/sync", { script, args });
const text = (css) => execute("const el = document.querySelector(arguments[0]); return el ? el.innerText : '';", [css]);

/** What the page shows, and the state of the call's views, for a failure's message. */
async function pageState() {
  const views = await execute(`const tile = (id) => { const el = document.querySelector(id);
      return el ? { hidden: el.hidden, reason: el.dataset.reason ?? null } : null; };
    return JSON.stringify({ video: window.__duetVideo ?? null, peer: tile('#peer-camera-off'), local: tile('#local-camera-off'),
      error: document.querySelector('#call-error')?.textContent ?? null });`).catch(() => "{}");
  return `${await text("body").catch(() => "")}\n(views: ${views})`;
}

/** Polls `check` every 200 ms until it is true; fails after `ms` with what the page shows. */
async function until(what, ms, check) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms; the page says: ${await pageState()}`);
    await sleep(200);
  }
}

async function element(css, ms = 20_000) {
  let found = null;
  await until(`an element ${css}`, ms, async () => {
    found = (await run("/element", { using: "css selector", value: css }))?.[ELEMENT] ?? null;
    return found !== null;
  });
  return found;
}

const click = async (css) => run(`/element/${await element(css)}/click`, {});
async function fill(css, value) {
  const id = await element(css);
  await run(`/element/${id}/clear`, {});
  await run(`/element/${id}/value`, { text: value });
}
const step = (what) => console.log(`smoke: ${what}`);

async function main() {
  await until("tauri-driver answers", 30_000, async () => (await fetch(`${driver}/status`)).ok);
  const capabilities = { alwaysMatch: { "tauri:options": { application: env("DUET_APP") } } };
  session = (await request("POST", "/session", { capabilities })).sessionId;
  await element("#app[data-ready='true']", 60_000);
  step("the app is up");

  const server = await execute("return document.querySelector('#server').value");
  if (server !== env("DUET_SERVER")) throw new Error(`the login form offers ${server}, not ${env("DUET_SERVER")}`);
  await fill("#user", env("DUET_USER"));
  await fill("#password", env("DUET_PASSWORD"));
  await click("#login-form button.primary");
  await element("#test-call button");
  step(`signed in as ${env("DUET_USER")}; the contacts offer a test call`);

  await click("#test-call button");
  await element("#call[data-phase='connected']", 30_000);
  step("the test call is connected");
  // A few seconds of the call: either our picture comes back, or (no camera here) both tiles say why not.
  await until("the echo's video or a reason for none", 15_000, () =>
    execute(`const remote = window.__duetVideo?.remote?.frames ?? 0;
      const cover = document.querySelector('#peer-camera-off');
      return remote >= 15 || (cover !== null && !cover.hidden && cover.dataset.reason !== '');`));
  const seen = await execute(`const cover = document.querySelector('#peer-camera-off');
    return { frames: window.__duetVideo?.remote?.frames ?? 0, reason: cover && !cover.hidden ? cover.dataset.reason : null,
      local: document.querySelector('#local-camera-off')?.hidden === false ? document.querySelector('#local-camera-off').dataset.reason : null };`);
  if (seen.reason !== null && seen.local !== seen.reason) {
    throw new Error(`the echo's tile says ${seen.reason} but ours says ${seen.local}`);
  }
  step(seen.reason === null ? `the echo shows our video (${seen.frames} frames drawn)` : `no video here: both tiles say ${seen.reason}`);
  if (seen.local !== null) {
    // The camera's failure is said once, in words, with the device checks offered.
    await element("#call-error:not([hidden]) #check-devices-later:not([hidden])", 5000);
    step(`the camera's problem is said: ${await text("#call-error span")}`);
  }
  await sleep(3000);
  if ((await execute("return document.querySelector('#call').dataset.phase")) !== "connected") {
    throw new Error(`the call did not stay connected: ${await pageState()}`);
  }

  await click("#hang-up");
  await element("#call-result", 10_000);
  step(`hung up: ${await text("#call-result")}`);
  await element("#test-call button", 15_000);
  // Logging out forgets the remembered sign-in, as a tester leaving the machine would.
  await click("#logout");
  await element("#login-form", 10_000);
  step("logged out");
}

try {
  await main();
  step("passed");
} catch (error) {
  console.error(`smoke: failed: ${error.message}`);
  process.exitCode = 1;
} finally {
  if (session) await request("DELETE", `/session/${session}`).catch(() => {});
}
