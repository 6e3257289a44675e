// The page at /, in headless Chromium (Debian's chromium-headless-shell,
// driven by playwright-core), against the real server in -demo.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { chromium } from "playwright-core";

import { startServer } from "../../clients/ts/test/server.mjs";

const executablePath = process.env.CHROMIUM_PATH ?? "/usr/lib/chromium/chromium-headless-shell";

let server;
let browser;
before(async () => {
  server = await startServer(["-demo"]);
  browser = await chromium.launch({
    executablePath,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
});
after(async () => {
  await browser?.close();
  assert.equal(await server?.stop(), 0);
});

/**
 * open loads the page and waits for the lookup it makes by itself. Script
 * errors and failed requests for anything but a call (a 404 favicon, say)
 * are in page.failures.
 */
async function open() {
  const page = await browser.newPage();
  const failures = [];
  page.on("pageerror", (err) => failures.push(err.message));
  page.on("response", (resp) => {
    if (resp.status() >= 400 && !new URL(resp.url()).pathname.startsWith("/ampersand.v1.")) {
      failures.push(`${resp.status()} ${resp.url()}`);
    }
  });
  await page.goto(server.url + "/");
  await page.waitForSelector('#result[data-for="my-project/read-accounts"]');
  page.failures = failures;
  return page;
}

async function lookUp(project, integration) {
  const page = await open();
  await page.fill("#project", project);
  await page.fill("#integration", integration);
  await page.click("#submit");
  await page.waitForSelector(`#result[data-for="${project}/${integration}"]`);
  assert.deepEqual(page.failures, []);
  return page;
}

test("the page shows the sample on first load, with an icon", async () => {
  const page = await open();
  assert.match(await page.textContent("#result .integration h2"), /read-accounts \(salesforce\)/);
  assert.equal(await page.getAttribute('link[rel="icon"]', "href"), "favicon.svg");
  const icon = await page.request.get(server.url + "/favicon.svg");
  assert.equal(icon.status(), 200);
  assert.equal((await page.request.get(server.url + "/favicon.ico")).status(), 204);
  assert.deepEqual(page.failures, []);
  await page.close();
});

test("a lookup renders the integration tree with both field variants", async () => {
  const page = await lookUp("my-project", "read-accounts");
  assert.match(await page.textContent(".integration h2"), /read-accounts \(salesforce\)/);
  const existent = await page.locator(".field.existent").allTextContents();
  const mapping = await page.locator(".field.mapping").allTextContents();
  assert.ok(existent.some((t) => t.includes("id") && t.includes("account_id")), `existent fields: ${existent}`);
  assert.ok(mapping.some((t) => t.includes("priority") && t.includes("Which field holds the account's priority?")), `mapping fields: ${mapping}`);
  const text = await page.textContent(".integration");
  for (const want of ["backfill", "delivery", "onRequest", "subscribe account", "schema watch", "fieldWatchStream", "object.merged", "proxy"]) {
    assert.ok(text.includes(want), `the tree lacks ${want}`);
  }
  if (process.env.SCREENSHOT_DIR) {
    await page.screenshot({ path: `${process.env.SCREENSHOT_DIR}/integration.png`, fullPage: true });
  }
  await page.close();
});

test("an unknown name renders not_found with the problem's detail", async () => {
  const page = await lookUp("my-project", "no-such-integration");
  assert.equal(await page.textContent(".error .code"), "not_found");
  assert.match(await page.textContent(".error .problem-detail"), /integration "no-such-integration" not found/);
  assert.match(await page.textContent(".error"), /NOT_FOUND/);
  if (process.env.SCREENSHOT_DIR) {
    await page.screenshot({ path: `${process.env.SCREENSHOT_DIR}/error.png`, fullPage: true });
  }
  await page.close();
});

test("an invalid name renders invalid_argument with the field violation", async () => {
  const page = await lookUp("..", "read-accounts");
  assert.equal(await page.textContent(".error .code"), "invalid_argument");
  assert.match(await page.textContent(".error .violation"), /project_id_or_name/);
  await page.close();
});
