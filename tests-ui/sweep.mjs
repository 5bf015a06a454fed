// Every page at every width: for each role, the pages its navigation reaches (and the
// first record each list links to), at 375, 768 and 1280 px. A page fails when it
// answers other than 200, when the document scrolls sideways, when text in a table cell
// or calendar block is cut off with an ellipsis, when on a phone its heading is below the
// first screen, or when axe-core finds a serious or critical accessibility violation.
// Each page is photographed per width under target/ui-screenshots/pages/, and its weight
// (HTML, CSS and scripts, before images) and load time are written to weights.json there.

import { createRequire } from "node:module";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SHOTS, login } from "./lib.mjs";

const require = createRequire(import.meta.url);
const AXE = require.resolve("axe-core/axe.min.js");
const PAGES = join(SHOTS, "pages");

/// The widths people use: a phone, a tablet upright, a laptop.
export const WIDTHS = [
  { width: 375, height: 667, mobile: true },
  { width: 768, height: 1024, mobile: false },
  { width: 1280, height: 800, mobile: false },
];

const ROLES = ["patient", "staff", "provider", "admin"];

/// The kind of page a link opens: its path with ids as `:id`, and the calendar's view.
function pattern(href) {
  const url = new URL(href, "http://x");
  const path = url.pathname.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, ":id");
  const view = url.searchParams.get("view");
  return view ? `${path}?view=${view}` : path;
}

/// Links that are not pages to look at: downloads, logging out, files.
function isPage(href) {
  if (!href || !href.startsWith("/") || href.startsWith("//") || href.startsWith("/static/")) return false;
  if (/logout|\/download|\/export|\.(pdf|ics|csv|json|png|svg)(\?|$)/.test(href)) return false;
  return true;
}

/// The pages a role's navigation links to, then one page of each kind that those pages
/// link to (a chart, an invoice, an appointment, a setup list, the week view, a booking
/// step): every page a person reaches in one or two clicks.
async function pagesOf(page, base) {
  await page.goto(`${base}/`);
  const nav = await page.$$eval("header nav a[href]", (as) => as.map((a) => a.getAttribute("href")));
  const seen = new Set();
  const out = [];
  const add = (href) => {
    if (!isPage(href) || seen.has(pattern(href))) return;
    seen.add(pattern(href));
    out.push(href);
  };
  for (const href of nav) add(href);
  for (const href of [...out]) {
    await page.goto(`${base}${href}`);
    const links = await page.$$eval("main a[href]", (as) => as.map((a) => a.getAttribute("href")));
    for (const l of links) if (!l.includes("?") || pattern(l).includes("?view=")) add(l);
  }
  return out;
}

/// What the page does wrong by looking at it: sideways scrolling, text cut off with an
/// ellipsis, a status chip without words, the heading below the first screen on a phone.
function layoutProblems({ phone }) {
  const problems = [];
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth) problems.push(`the page scrolls sideways (${root.scrollWidth} px in ${root.clientWidth} px)`);
  const describe = (el) => {
    const cls = typeof el.className === "string" && el.className ? `.${el.className.trim().split(/\s+/).join(".")}` : "";
    return `${el.tagName.toLowerCase()}${cls} "${el.textContent.trim().slice(0, 40)}"`;
  };
  for (const el of document.querySelectorAll("td, th, td *, th *, .cal-e, .cal-e *")) {
    const cs = getComputedStyle(el);
    if (cs.display === "none" || cs.visibility === "hidden") continue;
    const clips = cs.overflowX === "hidden" || cs.overflowX === "clip";
    if (clips && cs.textOverflow === "ellipsis" && el.scrollWidth > el.clientWidth + 1) problems.push(`text cut off: ${describe(el)}`);
  }
  for (const wrap of document.querySelectorAll("td, th")) {
    const cs = getComputedStyle(wrap);
    if ((cs.overflowX === "hidden" || cs.overflowX === "clip") && wrap.scrollWidth > wrap.clientWidth + 1) problems.push(`cell clips its content: ${describe(wrap)}`);
  }
  // Colour is never the only carrier of a status: every status chip says it in words.
  for (const chip of document.querySelectorAll(".chip")) {
    const cs = getComputedStyle(chip);
    if (cs.display === "none" || cs.visibility === "hidden") continue;
    if (!chip.textContent.trim() && !chip.getAttribute("aria-label")) problems.push(`a status chip without words: ${describe(chip.parentElement)}`);
  }
  if (phone) {
    const h1 = document.querySelector("h1");
    if (!h1) problems.push("no heading");
    else if (h1.getBoundingClientRect().bottom > window.innerHeight) problems.push(`the heading starts ${Math.round(h1.getBoundingClientRect().top)} px down, below the first screen`);
  }
  return problems;
}

/// HTML, CSS and scripts the page loaded (bytes, before images) and its load time (ms).
function weight() {
  const nav = performance.getEntriesByType("navigation")[0];
  let bytes = nav ? nav.decodedBodySize : 0;
  for (const r of performance.getEntriesByType("resource")) {
    if (r.initiatorType !== "img" && r.initiatorType !== "image") bytes += r.decodedBodySize;
  }
  return { bytes, ms: nav ? Math.round(nav.loadEventEnd - nav.startTime) : null };
}

const slug = (href) => pattern(href).replace(/:id/g, "id").replace(/^\//, "").replace(/[^a-zA-Z0-9]+/g, "-").replace(/-+$/, "") || "home";

/// One role at one width: every page, checked and photographed. Returns the failures.
async function sweepRole(browser, base, role, size, pages, weights) {
  const context = await browser.newContext({
    viewport: { width: size.width, height: size.height },
    isMobile: size.mobile,
    hasTouch: size.mobile,
    // axe-core is injected as a script of the test's own; the pages' CSP forbids that.
    bypassCSP: true,
  });
  const page = await context.newPage();
  await login(page, base, role);
  const failures = [];
  for (const href of pages) {
    const where = `${role} ${href} @${size.width}px`;
    const res = await page.goto(`${base}${href}`, { waitUntil: "load" });
    if (!res || res.status() !== 200) {
      failures.push(`${where}: answered ${res ? res.status() : "nothing"}`);
      continue;
    }
    // Machine endpoints a page links to (/readyz, /metrics) are not pages for people.
    if (!(res.headers()["content-type"] || "").startsWith("text/html")) continue;
    for (const p of await page.evaluate(layoutProblems, { phone: size.mobile })) failures.push(`${where}: ${p}`);
    await page.addScriptTag({ path: AXE });
    const axe = await page.evaluate(async () => {
      const r = await window.axe.run(document, { resultTypes: ["violations"] });
      return r.violations
        .filter((v) => v.impact === "serious" || v.impact === "critical")
        .map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`);
    });
    for (const v of axe) failures.push(`${where}: ${v}`);
    const w = await page.evaluate(weight);
    if (size.width === 1280) weights.push({ role, href, ...w });
    await page.screenshot({ path: join(PAGES, `${role}-${slug(href)}-${size.width}.png`), fullPage: true });
  }
  await context.close();
  return failures;
}

/// The scenario: registers with the runner's `scenario`.
export function sweepScenarios(scenario) {
  scenario("every page of every role fits 375, 768 and 1280 px and passes axe-core", async ({ browser, base }) => {
    mkdirSync(PAGES, { recursive: true });
    const failures = [];
    const weights = [];
    let visited = 0;
    for (const role of ROLES) {
      if (process.env.ROLE && process.env.ROLE !== role) continue;
      const context = await browser.newContext();
      const page = await context.newPage();
      await login(page, base, role);
      const pages = await pagesOf(page, base);
      await context.close();
      for (const size of WIDTHS) {
        failures.push(...(await sweepRole(browser, base, role, size, pages, weights)));
        visited += pages.length;
      }
    }
    weights.sort((a, b) => b.bytes - a.bytes);
    writeFileSync(join(SHOTS, "weights.json"), JSON.stringify(weights, null, 1));
    console.log(`     ${visited} page views; heaviest: ${weights.slice(0, 5).map((w) => `${w.href} ${(w.bytes / 1024).toFixed(1)} KB ${w.ms} ms`).join("; ")}`);
    if (failures.length) throw new Error(`${failures.length} problem(s):\n       ${failures.join("\n       ")}`);
  });
}
