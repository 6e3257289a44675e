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

/** call makes a Connect call with JSON, as a client beside the page would. */
async function call(method, body) {
  const resp = await fetch(`${server.url}/ampersand.v1.${method}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  assert.equal(resp.status, 200, `${method}: ${await resp.clone().text()}`);
  return resp.json();
}

/** pick presses the button of the item with that ID in a list and waits for what it loads. */
async function pick(page, list, id, ...waitFor) {
  await page.click(`#${list} button[value="${id}"]`);
  assert.equal(await page.getAttribute(`#${list} button[value="${id}"]`, "aria-current"), "true");
  for (const selector of waitFor) await page.waitForSelector(selector);
}

/** choices gives the IDs (the buttons' values) and texts of a list's buttons. */
function choices(page, list) {
  return page.$$eval(`#${list} button`, (buttons) => buttons.map((b) => [b.value, b.innerText.replace(/\s+/g, " ")]));
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

test("the page browses projects → integrations → installations and shows an installation as a tree", async () => {
  const page = await open();
  await page.waitForSelector('#projects[data-for="projects"]');
  assert.deepEqual(await choices(page, "projects"), [["project-456", "my-project MailMonkey"]]);
  assert.equal(await page.textContent("#integrations"), "Pick a project.");
  assert.equal(await page.textContent("#installations"), "Pick an integration.");

  // By keyboard: from "List projects", Tab to the project and press Enter.
  await page.focus("#list-projects");
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.value), "project-456");
  await page.keyboard.press("Enter");
  await page.waitForSelector('#integrations[data-for="my-project"]');
  assert.equal(await page.getAttribute('#projects button[value="project-456"]', "aria-current"), "true");
  assert.deepEqual(await choices(page, "integrations"), [
    ["123e4567-e89b-12d3-a456-426614174000", "read-accounts salesforce"],
    ["9b2f7c1e-4d3a-4f6b-8a1e-2c5d6e7f8a9b", "write-contacts hubspot"],
  ]);

  // An integration with no installation: its tree, and an empty list.
  await pick(page, "integrations", "9b2f7c1e-4d3a-4f6b-8a1e-2c5d6e7f8a9b",
    '#result[data-for="my-project/write-contacts"]', '#installations[data-for="my-project/write-contacts"]');
  assert.match(await page.textContent("#result .integration h2"), /write-contacts \(hubspot\)/);
  assert.equal(await page.textContent("#installations"), "No installations.");
  assert.equal(await page.inputValue("#integration"), "write-contacts");

  await pick(page, "integrations", "123e4567-e89b-12d3-a456-426614174000",
    '#result[data-for="my-project/read-accounts"]', '#installations[data-for="my-project/read-accounts"]');
  assert.match(await page.textContent("#result .integration h2"), /read-accounts \(salesforce\)/);
  assert.ok((await page.locator("#result .field.mapping").count()) > 0, "the integration's rich tree");
  assert.equal(await page.getAttribute('#integrations button[value="9b2f7c1e-4d3a-4f6b-8a1e-2c5d6e7f8a9b"]', "aria-current"), null);
  assert.deepEqual(await choices(page, "installations"), [["installation-123", "installation-123 group-123, healthy"]]);
  assert.equal(await page.inputValue("#project"), "my-project");
  assert.equal(await page.inputValue("#integration"), "read-accounts");

  await pick(page, "installations", "installation-123", '#result[data-for="my-project/read-accounts/installation-123"]');
  assert.equal(await page.textContent("#result .installation h2"), "installation installation-123");
  assert.deepEqual(await page.locator("#result .installation > section > h3").allTextContents(), ["group", "connection", "config"]);
  const rows = await page.$$eval("#result .installation .row", (els) =>
    els.map((e) => `${e.querySelector(".label").textContent}: ${e.querySelector(".value").textContent}`));
  for (const want of [
    "integration id: 123e4567-e89b-12d3-a456-426614174000",
    "health status: healthy", // the enum's REST spelling
    "last operation status: success",
    "group name: Super Customer",
    "auth scheme: oauth2/authorizationCode",
    "scopes: api, refresh_token", // a list of strings
    "create time: 2024-05-03T16:25:00Z", // a Timestamp
    "billingstate", // in a map of strings
  ]) {
    assert.ok(rows.some((r) => r.includes(want)), `no row has ${JSON.stringify(want)}: ${rows.join(" | ")}`);
  }
  assert.match(await page.textContent("#result .installation"), /selected field mappings.*priority.*rating/);
  if (process.env.SCREENSHOT_DIR) {
    await page.screenshot({ path: `${process.env.SCREENSHOT_DIR}/installation.png`, fullPage: true });
  }
  assert.deepEqual(page.failures, []);
  await page.close();
});

test("an installation deleted since it was listed renders not_found; listing again drops it", async () => {
  const { installation } = await call("InstallationService/CreateInstallation", {
    projectIdOrName: "my-project",
    integrationId: "read-accounts",
    body: {
      groupRef: "group-123",
      config: { content: { provider: "salesforce", read: { objects: { account: {
        objectName: "account", schedule: "*/30 * * * *", destination: "accountWebhook",
        selectedFields: { name: true }, selectedFieldMappings: { accountName: "name" },
      } } } } },
    },
  });
  const page = await open();
  await pick(page, "projects", "project-456", '#integrations[data-for="my-project"]');
  await pick(page, "integrations", "123e4567-e89b-12d3-a456-426614174000", '#installations[data-for="my-project/read-accounts"]');
  assert.deepEqual((await choices(page, "installations")).map(([id]) => id), ["installation-123", installation.id]);

  await call("InstallationService/DeleteInstallation", {
    projectIdOrName: "my-project", integrationId: installation.integrationId, installationId: installation.id,
  });
  await pick(page, "installations", installation.id, `#result[data-for="my-project/read-accounts/${installation.id}"]`);
  assert.equal(await page.textContent("#result .error h2 .code"), "not_found");
  assert.match(await page.textContent("#result .error .problem-detail"), new RegExp(installation.id));
  assert.match(await page.textContent("#result .error"), /NOT_FOUND/);
  if (process.env.SCREENSHOT_DIR) {
    await page.screenshot({ path: `${process.env.SCREENSHOT_DIR}/stale-installation.png` });
  }

  await pick(page, "integrations", "123e4567-e89b-12d3-a456-426614174000",
    '#result[data-for="my-project/read-accounts"]', '#installations[data-for="my-project/read-accounts"]');
  assert.deepEqual((await choices(page, "installations")).map(([id]) => id), ["installation-123"]);
  assert.deepEqual(page.failures, []);
  await page.close();
});

test("an integration deleted since it was listed renders not_found in the details and in its installations", async () => {
  await call("IntegrationService/CreateIntegration", {
    projectIdOrName: "my-project", name: "browse-gone", provider: "hubspot",
    latestRevision: { specVersion: "1.0.0", content: { name: "browse-gone", provider: "hubspot" } },
  });
  const page = await open();
  await pick(page, "projects", "project-456", '#integrations[data-for="my-project"]');
  const listed = await choices(page, "integrations");
  const [gone] = listed.find(([, text]) => text.startsWith("browse-gone")) ?? [];
  assert.ok(gone, `browse-gone is not listed: ${listed}`);

  await call("IntegrationService/DeleteIntegration", { projectIdOrName: "my-project", integrationIdOrName: "browse-gone" });
  await pick(page, "integrations", gone, '#result[data-for="my-project/browse-gone"]', '#installations[data-for="my-project/browse-gone"]');
  assert.equal(await page.textContent("#result .error h2 .code"), "not_found");
  assert.equal(await page.textContent("#installations .error h3 .code"), "not_found");
  assert.match(await page.textContent("#installations .error .problem-detail"), new RegExp(gone));
  if (process.env.SCREENSHOT_DIR) {
    await page.screenshot({ path: `${process.env.SCREENSHOT_DIR}/stale-integration.png` });
  }

  // Listing the projects again starts over.
  await page.click("#list-projects");
  await page.waitForSelector('#projects[data-for="projects"]');
  assert.equal(await page.textContent("#integrations"), "Pick a project.");
  assert.equal(await page.textContent("#installations"), "Pick an integration.");
  assert.deepEqual(page.failures, []);
  await page.close();
});
