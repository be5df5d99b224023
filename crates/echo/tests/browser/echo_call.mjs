// Opens echo_call.html in headless Chromium (Debian's, driven by playwright-core from
// the UI's node_modules) and prints the page's report as one JSON line.
// Usage: node echo_call.mjs <server url> <token>   (DUET_UI_DIR: the ui/ folder)
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import path from "node:path";

const [server, token] = process.argv.slice(2);
const ui = process.env.DUET_UI_DIR;
const { chromium } = createRequire(path.join(ui, "package.json"))("playwright-core");
const here = path.dirname(fileURLToPath(import.meta.url));

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    // A camera and a microphone of its own (a test pattern and a beep), allowed without asking.
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    // What comes back plays without a click.
    "--autoplay-policy=no-user-gesture-required",
  ],
});
try {
  const page = await browser.newPage();
  const url = pathToFileURL(path.join(here, "echo_call.html"));
  url.search = new URLSearchParams({ server, token }).toString();
  await page.goto(url.href);
  // A picture of the call while the own video comes back.
  await page.waitForFunction(() => window.talking || window.done, null, { timeout: 40_000 });
  if (process.env.DUET_SCREENSHOT) await page.screenshot({ path: process.env.DUET_SCREENSHOT });
  const result = await page.evaluate(() => window.result);
  result.log = await page.evaluate(() => document.getElementById("log").textContent.split("\n").slice(-40));
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
}
