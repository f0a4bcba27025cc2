#!/usr/bin/env node
// Browser check of the public pages of Hài Lòng (a survey page works without
// JavaScript and passes an automated WCAG 2.1 AA check).
//
//   node tests/browser/check.mjs BASE_URL [SHOTS_DIR]
//
// It does not start the Hài Lòng server: BASE_URL (e.g. http://127.0.0.1:18080) must answer.
// It drives Chromium through chromedriver (WebDriver over HTTP, no npm package needed besides
// axe-core), runs axe-core with the tags wcag2a, wcag2aa, wcag21a, wcag21aa on every public page
// at phone and desktop width with JavaScript on, checks the conditional questions with
// JavaScript on and off, submits the survey with JavaScript off, and writes PNG screenshots into
// SHOTS_DIR when given. Exits 1 on any axe violation or failed check, 2 when it cannot run.
//
// Environment:
//   WEBDRIVER_URL  use a chromedriver already running (default: start /usr/bin/chromedriver on a
//                  free port and stop it at the end)
//   CHROMEDRIVER   chromedriver binary (default /usr/bin/chromedriver)
//   CHROMIUM       browser binary (default /usr/bin/chromium)
//   AXE_JS         path of axe.min.js (default: resolved from node_modules of the current
//                  directory, of this script's folder, or NODE_PATH)
//   WARD, XA_WARD  a phường and a xã ward code (default 00004 and 00376)
//   ONLY_PAGES     `name=/path,name=/path…`: check only these pages (axe, overflow,
//                  screenshots) at 390 px (phone) and 1280 px, and skip the survey flows.
//                  Instead of `/path` an entry may say how to reach its page from the one
//                  before: `submit:/s/WARD` (answer that survey validly and send it),
//                  `follow:/prefix` (the first link of the page whose href starts so),
//                  `same:?query` (this page's path with another query), `click:CSS;CSS…`
//                  (click each in turn; the last one submits a form),
//                  `signin:EMAIL PASSWORD` (forget every cookie, sign in at /staff/login),
//                  `cookie:NAME=VALUE;/path` (set that cookie, e.g. a staff session, then
//                  open the path)

import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const [base0, shotsDir] = process.argv.slice(2);
if (!base0 || base0 === "-h" || base0 === "--help") {
  console.error("usage: node tests/browser/check.mjs BASE_URL [SHOTS_DIR]");
  process.exit(2);
}
const BASE = base0.replace(/\/+$/, "");
const WARD = process.env.WARD || "00004";
const XA_WARD = process.env.XA_WARD || "00376";
const TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

function findAxe() {
  if (process.env.AXE_JS) return process.env.AXE_JS;
  const bases = [join(process.cwd(), "x.js"), new URL(import.meta.url).pathname];
  for (const p of (process.env.NODE_PATH || "").split(":").filter(Boolean)) bases.push(join(p, "x.js"));
  for (const b of bases) {
    try {
      return createRequire(b).resolve("axe-core/axe.min.js");
    } catch {}
  }
  console.error("axe-core not found: `npm install axe-core` here, or set AXE_JS=/path/axe.min.js");
  process.exit(2);
}
const AXE_SRC = readFileSync(findAxe(), "utf8");

let failures = 0;
function fail(msg) {
  failures++;
  console.log(`FAIL ${msg}`);
}
function ok(msg) {
  console.log(`ok   ${msg}`);
}

// ---------- WebDriver over HTTP ----------
let WD = process.env.WEBDRIVER_URL;
let driverProc = null;
const profiles = [];

async function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => res(p));
    });
    s.on("error", rej);
  });
}

async function wd(method, path, body) {
  const r = await fetch(WD + path, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(90_000),
  });
  const j = await r.json();
  if (!r.ok) throw new Error(`${method} ${path}: ${j.value?.error}: ${j.value?.message?.split("\n")[0]}`);
  return j.value;
}

async function startDriver() {
  if (WD) return;
  const port = await freePort();
  driverProc = spawn(process.env.CHROMEDRIVER || "/usr/bin/chromedriver", [`--port=${port}`], {
    stdio: "ignore",
  });
  WD = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      const s = await (await fetch(WD + "/status")).json();
      if (s.value?.ready) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("chromedriver did not start");
}

class Session {
  static async open({ width, height, mobile, js }) {
    const dir = mkdtempSync(join(tmpdir(), "hailong-chromium-"));
    profiles.push(dir);
    const args = [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--hide-scrollbars",
      `--user-data-dir=${dir}`,
      `--window-size=${width},${height}`,
      "--lang=vi",
    ];
    const opts = { binary: process.env.CHROMIUM || "/usr/bin/chromium", args };
    if (mobile) opts.mobileEmulation = { deviceMetrics: { width, height, pixelRatio: 2, touch: true } };
    if (!js) opts.prefs = { "profile.managed_default_content_settings.javascript": 2 };
    const v = await wd("POST", "/session", {
      capabilities: {
        alwaysMatch: {
          browserName: "chrome",
          "goog:chromeOptions": opts,
          // With page JavaScript off, chromedriver's wait for a navigation never ends: do not
          // wait, and find elements with an implicit wait instead.
          ...(js ? {} : { pageLoadStrategy: "none", timeouts: { implicit: 10000 } }),
        },
      },
    });
    const s = new Session();
    s.id = v.sessionId;
    s.width = width;
    s.height = height;
    return s;
  }
  cmd(method, path, body) {
    return wd(method, `/session/${this.id}${path}`, body);
  }
  async go(url) {
    await this.cmd("POST", "/url", { url: BASE + url });
    await this.settle();
  }
  // Waits until the page has loaded (needed where pageLoadStrategy is "none").
  async settle() {
    for (let i = 0; i < 100; i++) {
      const ok = await this.exec("return document.readyState").then(
        (v) => v === "complete",
        () => false,
      );
      if (ok) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  url() {
    return this.cmd("GET", "/url");
  }
  exec(script, args = []) {
    return this.cmd("POST", "/execute/sync", { script, args });
  }
  execAsync(script, args = []) {
    return this.cmd("POST", "/execute/async", { script, args });
  }
  cdp(cmd, params = {}) {
    return this.cmd("POST", "/goog/cdp/execute", { cmd, params });
  }
  async find(css) {
    const v = await this.cmd("POST", "/element", { using: "css selector", value: css });
    return Object.values(v)[0];
  }
  async findAll(css) {
    const v = await this.cmd("POST", "/elements", { using: "css selector", value: css });
    return v.map((e) => Object.values(e)[0]);
  }
  async click(css) {
    const el = await this.find(css);
    await this.cmd("POST", `/element/${el}/click`, {});
  }
  async type(css, text) {
    const el = await this.find(css);
    await this.cmd("POST", `/element/${el}/value`, { text });
  }
  async displayed(css) {
    const els = await this.findAll(css);
    if (!els.length) return false;
    return this.cmd("GET", `/element/${els[0]}/displayed`);
  }
  async text(css) {
    const el = await this.find(css);
    return this.cmd("GET", `/element/${el}/text`);
  }
  async title() {
    return this.cmd("GET", "/title");
  }
  async shot(name, full) {
    if (!shotsDir) return;
    let data;
    if (full) {
      const m = await this.cdp("Page.getLayoutMetrics");
      const c = m.cssContentSize || m.contentSize;
      data = (
        await this.cdp("Page.captureScreenshot", {
          format: "png",
          captureBeyondViewport: true,
          clip: { x: 0, y: 0, width: Math.ceil(c.width), height: Math.ceil(c.height), scale: 1 },
        })
      ).data;
    } else {
      data = await this.cmd("GET", "/screenshot");
    }
    writeFileSync(join(shotsDir, name + ".png"), Buffer.from(data, "base64"));
  }
  async axe(label) {
    await this.exec(AXE_SRC + "\n;return true;");
    const res = await this.execAsync(
      `const done = arguments[arguments.length - 1];
       axe.run(document, { runOnly: { type: "tag", values: arguments[0] }, resultTypes: ["violations"] })
         .then(r => done({ v: r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map(n => ({ target: n.target.join(" "), summary: n.failureSummary })) })) }))
         .catch(e => done({ error: String(e) }));`,
      [TAGS],
    );
    if (res.error) return fail(`${label}: axe could not run: ${res.error}`);
    if (!res.v.length) return ok(`${label}: axe 0 violations`);
    fail(`${label}: axe ${res.v.length} violation(s)`);
    for (const v of res.v) {
      console.log(`     - ${v.id} (${v.impact}): ${v.help}`);
      for (const n of v.nodes) console.log(`         ${n.target}\n           ${(n.summary || "").replace(/\n/g, " | ")}`);
    }
  }
  async scrollWidthOk(label) {
    const [sw, cw] = await this.exec(
      "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]",
    );
    if (sw > cw) fail(`${label}: horizontal overflow (${sw}px content in ${cw}px)`);
  }
  close() {
    return this.cmd("DELETE", "");
  }
}

// ---------- the pages ----------
// Answers for a valid submission: the index of the radio to choose for each question.
const VALID = { a1: 3, a2: 3, r1: 4, r2: 2, s1: 3, s2: 2, c1: 1, c2: 3, used_procedures: 0, p1: 3, p2: 4, overall: 3, trust: 8 };

async function fillValid(s) {
  for (const [q, i] of Object.entries(VALID)) await s.click(`#f-${q}-${i}`);
}

// Submits the survey form and waits for the next page (WebDriver's click does not wait for
// the navigation a form submission starts).
async function submitForm(s) {
  const before = await s.find("form.survey");
  await s.click("form.survey button[type=submit]");
  for (let i = 0; i < 100; i++) {
    try {
      // Fails with "stale element reference" once the new page has replaced the form.
      await s.cmd("GET", `/element/${before}/name`);
    } catch {
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await s.settle();
}

async function pagesWithJs(s, tag) {
  const pages = [
    ["home", "/"],
    ["search", "/?q=ba+dinh"],
    ["survey", `/s/${WARD}`],
    ["survey-en", `/s/${WARD}?lang=en`],
    ["survey-xa", `/s/${XA_WARD}`],
    ["404", "/s/99999"],
  ];
  for (const [name, path] of pages) {
    const label = `${tag} ${name} ${path}`;
    await s.go(path);
    await s.shot(`${tag}-${name}`, false);
    await s.shot(`${tag}-${name}-full`, true);
    await s.scrollWidthOk(label);
    await s.axe(label);
    if (name === "search" && !(await s.findAll(`a[href="/s/${WARD}"]`)).length)
      fail(`${label}: no link to the survey of ${WARD} in the results`);
    if (name.startsWith("survey") && !(await s.findAll("form.survey")).length)
      fail(`${label}: no survey form`);
  }
  // Conditional questions: hidden until "Có", shown after.
  await s.go(`/s/${WARD}`);
  if (await s.displayed("#q-p1")) fail(`${tag} survey: p1 is shown before used_procedures is answered`);
  else ok(`${tag} survey: p1 hidden before used_procedures is answered`);
  await s.click("#f-used_procedures-0");
  if (!(await s.displayed("#q-p1")) || !(await s.displayed("#q-p2"))) fail(`${tag} survey: p1/p2 not shown after "Có"`);
  else ok(`${tag} survey: p1/p2 shown after "Có"`);
  await s.shot(`${tag}-survey-yes-full`, true);
  await s.axe(`${tag} survey after "Có"`);
  await s.click("#f-used_procedures-1");
  if (await s.displayed("#q-p1")) fail(`${tag} survey: p1 still shown after "Không"`);
  else ok(`${tag} survey: p1 hidden again after "Không"`);

  // 422: empty form.
  await s.go(`/s/${WARD}`);
  await submitForm(s);
  const t = await s.title();
  if (!/^Lỗi/.test(t)) fail(`${tag} 422: title "${t}" does not start with "Lỗi"`);
  const focused = await s.exec("return document.activeElement && document.activeElement.id");
  if (focused !== "errors") fail(`${tag} 422: focus is on "${focused}", not the error summary`);
  else ok(`${tag} 422: error summary focused`);
  await s.shot(`${tag}-422`, false);
  await s.shot(`${tag}-422-full`, true);
  await s.scrollWidthOk(`${tag} 422`);
  await s.axe(`${tag} 422`);

  // Valid submission → thank-you page.
  await s.go(`/s/${WARD}`);
  await fillValid(s);
  await submitForm(s);
  const u = await s.url();
  if (!/\/thanks\?r=/.test(u)) fail(`${tag} submit: ended on ${u}, not the thank-you page`);
  else ok(`${tag} submit: thank-you page`);
  await s.shot(`${tag}-thanks`, false);
  await s.scrollWidthOk(`${tag} thanks`);
  await s.axe(`${tag} thanks`);
}

async function pagesWithoutJs(s) {
  const tag = "nojs";
  await s.go(`/s/${WARD}`);
  const on = await s.cmd("POST", "/execute/sync", { script: "return 1", args: [] }).then(
    () => true,
    () => false,
  );
  console.log(`     (WebDriver scripts ${on ? "still run" : "blocked"} with page JavaScript off)`);
  if (!(await s.displayed("#q-p1")) || !(await s.displayed("#q-p2"))) fail(`${tag} survey: p1/p2 hidden without JavaScript`);
  else ok(`${tag} survey: p1/p2 shown without JavaScript`);
  if (!(await s.displayed("#h-p1"))) fail(`${tag} survey: no hint on p1 without JavaScript`);
  else ok(`${tag} survey: p1 hint shown`);
  // A viewport capture only: with JavaScript off the tab stops answering after a full-page
  // capture (Page.captureScreenshot with captureBeyondViewport).
  await s.exec("document.getElementById('q-p1').scrollIntoView()");
  await s.shot(`${tag}-survey-p1`, false);
  // Empty submission → 422 with the summary.
  await submitForm(s);
  if (!(await s.displayed("#errors"))) fail(`${tag} 422: no error summary`);
  else ok(`${tag} 422: error summary shown`);
  // "Không" with p1/p2 left empty is valid: they are ignored.
  await s.go(`/s/${WARD}`);
  for (const [q, i] of Object.entries(VALID)) {
    if (q === "p1" || q === "p2") continue;
    await s.click(`#f-${q}-${q === "used_procedures" ? 1 : i}`);
  }
  await submitForm(s);
  const u = await s.url();
  if (!/\/thanks\?r=/.test(u)) fail(`${tag} submit: ended on ${u}, not the thank-you page`);
  else ok(`${tag} submit with "Không" and p1/p2 empty: thank-you page`);
  await s.shot(`${tag}-thanks`, false);
}

// Clicks each element in turn; waits for the page the last click loads.
async function clickThrough(s, selectors) {
  const before = await s.find("html");
  for (const css of selectors) await s.click(css);
  for (let i = 0; i < 100; i++) {
    try {
      await s.cmd("GET", `/element/${before}/name`);
    } catch {
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await s.settle();
}

// Goes to an ONLY_PAGES entry's page (see the header).
async function reach(s, how) {
  if (how.startsWith("submit:")) {
    await s.go(how.slice(7));
    await fillValid(s);
    // With a comment and a reply address, so that the private page has something to erase.
    await s.type("#f-comment-0", "Đèn đường ngõ 12 hỏng đã lâu, mong sửa sớm.");
    await s.type("#f-contact_email-0", "nguoidan@example.vn");
    await s.click("input[name=contact_consent]");
    await submitForm(s);
  } else if (how.startsWith("follow:")) {
    const prefix = how.slice(7);
    const href = await s.exec(
      "const a = [...document.querySelectorAll('a[href]')].find(a => a.getAttribute('href').startsWith(arguments[0])); return a && a.getAttribute('href');",
      [prefix],
    );
    if (!href) throw new Error(`no link starting with ${prefix} on ${await s.url()}`);
    await s.go(href);
  } else if (how.startsWith("same:")) {
    const u = new URL(await s.url());
    await s.go(u.pathname + how.slice(5));
  } else if (how.startsWith("click:")) {
    await clickThrough(s, how.slice(6).split(";"));
  } else if (how.startsWith("signin:")) {
    const rest = how.slice(7);
    const [email, password] = [rest.slice(0, rest.indexOf(" ")), rest.slice(rest.indexOf(" ") + 1)];
    await s.cmd("DELETE", "/cookie");
    await s.go("/staff/login");
    await s.type("#email", email);
    await s.type("#password", password);
    await clickThrough(s, ["main form button[type=submit]"]);
    if (new URL(await s.url()).pathname === "/staff/login") throw new Error(`could not sign in as ${email}`);
  } else if (how.startsWith("cookie:")) {
    // `cookie:NAME=VALUE;/path`: a cookie for the server (a staff session), then the page.
    const [pair, path] = how.slice(7).split(";");
    const at = pair.indexOf("=");
    await s.go("/healthz");
    await s.cmd("POST", "/cookie", {
      cookie: { name: pair.slice(0, at), value: pair.slice(at + 1), path: "/", httpOnly: true },
    });
    await s.go(path);
  } else {
    await s.go(how);
  }
}

// Only the pages of ONLY_PAGES, at phone and desktop width.
async function onlyPages(s, tag) {
  for (const item of process.env.ONLY_PAGES.split(",").filter(Boolean)) {
    const at = item.indexOf("=");
    const [name, path] = [item.slice(0, at), item.slice(at + 1)];
    const label = `${tag} ${name} ${path}`;
    await reach(s, path);
    await s.shot(`${tag}-${name}`, false);
    await s.shot(`${tag}-${name}-full`, true);
    await s.scrollWidthOk(label);
    await s.axe(label);
  }
}

// ---------- main ----------
const sessions = [];
if (process.env.ONLY_PAGES) {
  try {
    if (shotsDir) mkdirSync(resolve(shotsDir), { recursive: true });
    await startDriver();
    const phone = await Session.open({ width: 390, height: 844, mobile: true, js: true });
    sessions.push(phone);
    await onlyPages(phone, "phone");
    const desk = await Session.open({ width: 1280, height: 900, mobile: false, js: true });
    sessions.push(desk);
    await onlyPages(desk, "desktop");
  } catch (e) {
    fail(`could not complete: ${e.message}`);
  } finally {
    for (const s of sessions) await s.close().catch(() => {});
    if (driverProc) driverProc.kill();
    for (const d of profiles) rmSync(d, { recursive: true, force: true });
  }
  console.log(failures ? `${failures} failed` : "all browser checks passed");
  process.exit(failures ? 1 : 0);
}
try {
  if (shotsDir) mkdirSync(resolve(shotsDir), { recursive: true });
  const h = await fetch(BASE + "/healthz").catch(() => null);
  if (!h || !h.ok) {
    console.error(`${BASE}/healthz does not answer 200: start the server first`);
    process.exit(2);
  }
  await startDriver();
  const phone = await Session.open({ width: 375, height: 812, mobile: true, js: true });
  sessions.push(phone);
  await pagesWithJs(phone, "phone");
  const desk = await Session.open({ width: 1280, height: 900, mobile: false, js: true });
  sessions.push(desk);
  await pagesWithJs(desk, "desktop");
  // No mobile emulation here: with it and page JavaScript off, chromedriver's click never returns.
  const nojs = await Session.open({ width: 375, height: 812, mobile: false, js: false });
  sessions.push(nojs);
  await pagesWithoutJs(nojs);
} catch (e) {
  fail(`could not complete: ${e.message}`);
} finally {
  for (const s of sessions) await s.close().catch(() => {});
  if (driverProc) driverProc.kill();
  for (const d of profiles) rmSync(d, { recursive: true, force: true });
}
console.log(failures ? `${failures} failed` : "all browser checks passed");
process.exit(failures ? 1 : 0);
