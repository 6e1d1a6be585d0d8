// The local mode's demo page (crates/authz-local/src/demo_page.html) in headless Chromium:
// starts target/debug/authz-local on free loopback ports, opens each API's page at `/`, gets
// each tier's token through the page and clicks through every route, checking the statuses
// and data the page shows. Run by scripts/test-browser.sh (which installs Chromium and builds
// the binaries); env: AUTHZ_LOCAL_BIN_DIR (default target/debug), CHROMIUM (default
// /usr/bin/chromium), BROWSER_SCREENSHOT_DIR (default: a new temp directory).
// Only 127.0.0.1 is reachable from the browser: any other request is aborted and fails a test.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const binDir = process.env.AUTHZ_LOCAL_BIN_DIR || path.join(root, "target/debug");
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const shotDir = process.env.BROWSER_SCREENSHOT_DIR
  ? (mkdirSync(process.env.BROWSER_SCREENSHOT_DIR, { recursive: true }), process.env.BROWSER_SCREENSHOT_DIR)
  : mkdtempSync(path.join(os.tmpdir(), "authz-demo-page-"));

// What API Gateway answers, from infra/routes.json (the page's own "expected" column is checked
// too, for every API; these pin the solar-system demo).
const SOLAR = {
  none: { "GET /": 200, "GET /asteroids": 401, "GET /planets": 401, "GET /moons": 401 },
  bronze: { "GET /": 200, "GET /asteroids": 200, "GET /planets": 403, "GET /moons": 403 },
  silver: { "GET /": 200, "GET /asteroids": 200, "GET /planets": 200, "GET /moons": 403 },
  gold: { "GET /": 200, "GET /asteroids": 200, "GET /planets": 200, "GET /moons": 200 },
};
// PUT and DELETE /pets/{petId} are Cedar-decided (infra/cedar/pet-store.cedar): the write
// scope may update, the editors group may update and delete.
const PETS = {
  none: { "GET /": 200, "GET /pets": 401, "POST /pets": 401, "GET /pets/{petId}": 401, "PUT /pets/{petId}": 401, "DELETE /pets/{petId}": 401 },
  nobody: { "GET /": 200, "GET /pets": 403, "POST /pets": 403, "GET /pets/{petId}": 403, "PUT /pets/{petId}": 403, "DELETE /pets/{petId}": 403 },
  reader: { "GET /": 200, "GET /pets": 200, "POST /pets": 403, "GET /pets/{petId}": 200, "PUT /pets/{petId}": 403, "DELETE /pets/{petId}": 403 },
  writer: { "GET /": 200, "GET /pets": 200, "POST /pets": 200, "GET /pets/{petId}": 200, "PUT /pets/{petId}": 200, "DELETE /pets/{petId}": 403 },
  editor: { "GET /": 200, "GET /pets": 200, "POST /pets": 403, "GET /pets/{petId}": 200, "PUT /pets/{petId}": 200, "DELETE /pets/{petId}": 200 },
};

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let local; // the authz-local child process
let localLog = "";
let browser;
let context;
const ports = {};
const origin = (port) => `http://127.0.0.1:${port}`;
const offLoopback = []; // requests the browser tried outside the local mode (aborted)
const bearerTo = new Set(); // origins that received an Authorization header
const tokensSent = new Set(); // kept in memory to check the page never displays one; never printed

async function stopLocal() {
  if (!local || local.exitCode !== null || local.signalCode !== null) return;
  const exited = new Promise((r) => local.once("exit", r));
  local.kill("SIGTERM"); // authz-local kills its authorizer processes and moto on SIGTERM
  const timer = setTimeout(() => local.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

before(async () => {
  for (const k of ["rest", "http", "token"]) ports[k] = await freePort();
  local = spawn(
    path.join(binDir, "authz-local"),
    ["--routes", path.join(root, "infra/routes.json"), "--bin-dir", binDir,
     "--rest-port", ports.rest, "--http-port", ports.http, "--token-port", ports.token,
     // --ready-json: authz-local also stops when its stdin, this process's pipe, closes: it ends
     // with this test however the test ends (even SIGKILL).
     "--ready-json"].map(String),
    { cwd: root, stdio: ["pipe", "pipe", "pipe"] },
  );
  // The readiness line and the processes' stderr (no tokens): shown only if start-up fails.
  local.stdout.on("data", (d) => (localLog += d));
  local.stderr.on("data", (d) => (localLog += d));
  process.on("exit", () => local.kill("SIGKILL")); // last resort if an `after` never runs
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (local.exitCode !== null) throw new Error(`authz-local exited (${local.exitCode}):\n${localLog}`);
    try {
      if ((await fetch(`${origin(ports.token)}/`)).ok) break;
    } catch {}
    if (Date.now() > deadline) throw new Error(`authz-local did not start in 60 s:\n${localLog}`);
    await sleep(100);
  }
  browser = await chromium.launch({
    executablePath,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const allowed = new Set(Object.values(ports).map(origin));
  await context.route("**/*", async (route) => {
    const req = route.request();
    const url = new URL(req.url());
    if (!allowed.has(url.origin)) {
      offLoopback.push(req.url());
      return route.abort();
    }
    const auth = (await req.allHeaders()).authorization;
    if (auth) {
      bearerTo.add(url.origin);
      tokensSent.add(auth.replace(/^Bearer /, ""));
    }
    return route.continue();
  });
});

after(async () => {
  try {
    await browser?.close();
  } finally {
    await stopLocal();
  }
});

/** Opens an API's page; collects page errors and console errors (CSP violations included). */
async function open(port) {
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  // Chromium logs every 4xx answer as a console error: those are the point of the page.
  const expected4xx = /^Failed to load resource: the server responded with a status of 40[13] /;
  page.on("console", (m) => {
    if (m.type() === "error" && !expected4xx.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  await page.goto(`${origin(port)}/`);
  return { page, problems };
}

/** Gets a token through the page (tier, "jwt" | "opaque", an IdP shape or "" for the dev
 * issuer's layout); returns what the page says. */
async function getToken(page, tier, format, shape = "") {
  await page.selectOption("#tier", tier);
  await page.selectOption("#format", format);
  await page.selectOption("#shape", shape);
  await page.click("#get-token");
  await page.waitForSelector('#token-status:is([data-state="ready"], [data-state="error"])');
  const state = await page.getAttribute("#token-status", "data-state");
  assert.equal(state, "ready", await page.textContent("#token-status"));
  return { status: await page.textContent("#token-status"), claims: await page.textContent("#claims") };
}

/** Clicks "Call all" and returns {route: {status, expected, match, answer}} as shown. */
async function callAll(page) {
  await page.click("#call-all");
  await page.waitForSelector('#routes[data-state="done"]', { timeout: 30_000 });
  return rows(page);
}

function rows(page) {
  return page.$$eval("#routes tbody tr", (trs) =>
    Object.fromEntries(trs.map((tr) => {
      const status = tr.querySelector("td.status");
      return [tr.dataset.route, {
        status: Number(status.dataset.status),
        expected: Number(tr.querySelector("td.expected").textContent),
        match: status.dataset.match,
        reason: status.dataset.reason,
        answer: tr.querySelector("td.answer").textContent,
      }];
    })));
}

/** Statuses as shown, as {route: status}. */
const statuses = (shown) => Object.fromEntries(Object.entries(shown).map(([k, v]) => [k, v.status]));

function assertMatchesTable(shown, label) {
  for (const [route, r] of Object.entries(shown)) {
    assert.equal(r.match, "true", `${label} ${route}: shown ${r.status}, the page expected ${r.expected}`);
    assert.equal(r.status, r.expected, `${label} ${route}`);
  }
}

const json = (answer) => JSON.parse(answer);

describe("demo page, solar-system (HTTP API)", () => {
  test("lists the tiers and routes of the table", async () => {
    const { page, problems } = await open(ports.http);
    assert.equal(await page.textContent("h1"), "solar-system");
    const tiers = await page.$$eval("#tier option", (os) => os.map((o) => o.value));
    assert.deepEqual(tiers, ["bronze", "silver", "gold"]);
    const routes = await page.$$eval("#routes tbody tr", (trs) => trs.map((tr) => tr.dataset.route));
    assert.deepEqual(routes, ["GET /", "GET /asteroids", "GET /planets", "GET /moons"]);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test("without a token every guarded route answers 401", async () => {
    const { page, problems } = await open(ports.http);
    const shown = await callAll(page);
    assert.deepEqual(statuses(shown), SOLAR.none);
    assertMatchesTable(shown, "no token");
    assert.equal(json(shown["GET /planets"].answer).message, "Unauthorized");
    assert.match(shown["GET /"].answer, /an HTML page/);
    assert.deepEqual(problems, []);
    await page.close();
  });

  for (const tier of ["bronze", "silver", "gold"]) {
    test(`${tier} JWT: the statuses of the table, and the data`, async () => {
      const { page, problems } = await open(ports.http);
      const token = await getToken(page, tier, "jwt");
      assert.match(token.status, new RegExp(`^${tier} token \\(JWT`));
      const claims = JSON.parse(token.claims.split("\nclaims ")[1].split("\nexpires ")[0]);
      assert.equal(claims.scope, tier);
      assert.equal(claims.aud, "solar-system");
      assert.equal(claims.sub, `${tier}-user`);
      const shown = await callAll(page);
      assert.deepEqual(statuses(shown), SOLAR[tier]);
      assertMatchesTable(shown, tier);
      assert.ok(json(shown["GET /asteroids"].answer).asteroids.includes("Ceres"));
      // The backend echoes the Lambda authorizer's context: the caller.
      assert.equal(json(shown["GET /asteroids"].answer).authorizer.sub, `${tier}-user`);
      if (SOLAR[tier]["GET /planets"] === 200) {
        assert.ok(json(shown["GET /planets"].answer).planets.includes("Jupiter"));
      } else {
        assert.equal(json(shown["GET /planets"].answer).message, "Forbidden");
        assert.doesNotMatch(shown["GET /planets"].answer, /Jupiter/);
        // The reason the Lambda authorizer's decision line gives.
        assert.equal(shown["GET /planets"].reason, "insufficient_scope");
      }
      if (tier === "gold") {
        const moons = json(shown["GET /moons"].answer);
        assert.ok(moons.moons.includes("Ganymede"));
        assert.equal(moons.authorizer.jwt.claims.sub, "gold-user"); // the native JWT authorizer
        const file = path.join(shotDir, "solar-system-gold.png");
        await page.screenshot({ path: file, fullPage: true });
        console.log(`# screenshot: ${file}`);
      }
      // One route on its own: its "Call" button.
      await page.click('tr[data-route="GET /moons"] button.call');
      await page.waitForSelector('tr[data-route="GET /moons"] td.status[data-status]');
      assert.deepEqual(statuses(await rows(page))["GET /moons"], SOLAR[tier]["GET /moons"]);
      // Back to no token: 401 again.
      await page.click("#forget-token");
      assert.deepEqual(statuses(await callAll(page)), SOLAR.none);
      assert.deepEqual(problems, []);
      await page.close();
    });
  }

  test("gold opaque token: the Lambda authorizer introspects it, the native JWT route refuses it", async () => {
    const { page, problems } = await open(ports.http);
    const token = await getToken(page, "gold", "opaque");
    assert.match(token.status, /^gold token \(opaque/);
    assert.match(token.claims, /opaque token/);
    const shown = await callAll(page);
    assert.deepEqual(statuses(shown), { ...SOLAR.gold, "GET /moons": 401 });
    assertMatchesTable(shown, "gold opaque");
    assert.ok(json(shown["GET /planets"].answer).planets.includes("Jupiter"));
    assert.equal(json(shown["GET /planets"].answer).authorizer.sub, "gold-user");
    assert.equal(json(shown["GET /moons"].answer).message, "Unauthorized");
    assert.ok(shown["GET /moons"].reason, "the native JWT route's reason is shown");
    const file = path.join(shotDir, "solar-system-gold-opaque.png");
    await page.screenshot({ path: file, fullPage: true });
    console.log(`# screenshot: ${file}`);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test("IdP-shaped tokens: the Lambda routes apply that IdP's recipe, the native JWT route refuses them", async () => {
    const devIssuer = (await (await fetch(`${origin(ports.token)}/`)).json()).issuer;
    const { page, problems } = await open(ports.http);
    const shapes = await page.$$eval("#shape option", (os) => os.map((o) => o.value));
    for (const s of ["", "cognito", "entra", "auth0", "okta", "keycloak"]) assert.ok(shapes.includes(s), s);
    for (const [shape, tier] of [["keycloak", "gold"], ["auth0", "silver"], ["okta", "bronze"]]) {
      const token = await getToken(page, tier, "jwt", shape);
      assert.match(token.status, new RegExp(`^${tier} token \\(JWT, laid out like ${shape}'s`));
      const claims = JSON.parse(token.claims.split("\nclaims ")[1].split("\nexpires ")[0]);
      // From that shape's own issuer, not the dev issuer.
      assert.notEqual(new URL(claims.iss).origin, new URL(devIssuer).origin, shape);
      const shown = await callAll(page);
      // The table's answers on the Lambda routes; another issuer's token at the JWT route: 401.
      assert.deepEqual(statuses(shown), { ...SOLAR[tier], "GET /moons": 401 }, shape);
      assertMatchesTable(shown, `${shape} ${tier}`);
      assert.equal(json(shown["GET /moons"].answer).message, "Unauthorized");
      assert.equal(json(shown["GET /asteroids"].answer).authorizer.sub, claims.sub);
    }
    assert.deepEqual(problems, []);
    await page.close();
  });
});

describe("demo page, pet-store (REST API)", () => {
  test("every tier: the statuses of the table, POST with a body, path parameters", async () => {
    const { page, problems } = await open(ports.rest);
    assert.equal(await page.textContent("h1"), "pet-store");
    // It starts on a tier some route lets in, not on `nobody`.
    assert.equal(await page.inputValue("#tier"), "reader");
    assert.deepEqual(statuses(await callAll(page)), PETS.none);
    for (const tier of ["nobody", "reader", "writer", "editor"]) {
      await getToken(page, tier, "jwt");
      const shown = await callAll(page);
      assert.deepEqual(statuses(shown), PETS[tier], tier);
      assertMatchesTable(shown, tier);
      if (tier === "nobody") assert.equal(shown["GET /pets"].reason, "insufficient_scope");
      if (tier === "writer") {
        const created = json(shown["POST /pets"].answer);
        assert.equal(created.created, true);
        assert.equal(created.pet.type, "hamster"); // the page's JSON body reached the backend
        assert.equal(json(shown["GET /pets/{petId}"].answer).pathParameters.petId, "1");
        assert.equal(json(shown["GET /pets"].answer).authorizer.principalId, "writer-user");
      }
    }
    assert.deepEqual(problems, []);
    await page.close();
  });

  test("a Cognito-shaped token: its recipe's answers, the scopes from `scope`, the client checked", async () => {
    const { page, problems } = await open(ports.rest);
    for (const tier of ["reader", "nobody", "writer"]) {
      const token = await getToken(page, tier, "jwt", "cognito");
      const claims = JSON.parse(token.claims.split("\nclaims ")[1].split("\nexpires ")[0]);
      assert.equal(claims.token_use, "access");
      assert.equal(claims.aud, undefined, "Cognito access tokens have no aud");
      assert.equal(claims.client_id, `pet-store-${tier}`);
      const shown = await callAll(page);
      assert.deepEqual(statuses(shown), PETS[tier], tier);
      assertMatchesTable(shown, `cognito ${tier}`);
      if (tier !== "nobody") {
        assert.equal(json(shown["GET /pets"].answer).authorizer.principalId, claims.sub);
      }
    }
    const file = path.join(shotDir, "pet-store-cognito.png");
    await page.screenshot({ path: file, fullPage: true });
    console.log(`# screenshot: ${file}`);
    // Another layout on the same page, no restart: Entra ID's recipe (scopes from `scp`).
    await getToken(page, "writer", "jwt", "entra");
    assert.deepEqual(statuses(await callAll(page)), PETS.writer, "entra writer");
    assert.deepEqual(problems, []);
    await page.close();
  });
});

test("tokens went to the APIs only, nothing left 127.0.0.1, no token displayed", async () => {
  // The page shows a token's length and claims, never the token itself.
  const { page } = await open(ports.http);
  await getToken(page, "gold", "jwt");
  await callAll(page);
  const text = await page.evaluate(() => document.body.innerText);
  assert.ok(tokensSent.size >= 1);
  const shownTokens = [...tokensSent].filter((t) => text.includes(t)).length;
  assert.equal(shownTokens, 0, "a token is displayed in the page");
  await page.close();
  assert.deepEqual(offLoopback, []);
  // Authorization went to the API origins only (never to the token endpoint).
  assert.ok(bearerTo.has(origin(ports.http)));
  for (const o of bearerTo) assert.ok([origin(ports.http), origin(ports.rest)].includes(o), o);
});
