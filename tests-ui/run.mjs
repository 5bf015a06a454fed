// Praxis browser tests: the real server (`praxis demo` on a fresh data directory) and
// headless Chromium driven by playwright-core, doing what people do. Every scenario saves
// screenshots under target/ui-screenshots/; the sweep (sweep.mjs) checks every page. Run: `node tests-ui/run.mjs` after `cargo build`.
//
// Environment: PRAXIS_BIN (default ../target/debug/praxis), CHROMIUM (default
// /usr/bin/chromium), ONLY=<scenario name substring>.

import { chromium } from "playwright-core";
import { rmSync } from "node:fs";
import { createHmac } from "node:crypto";
import assert from "node:assert/strict";
import { CHROMIUM, startServer, login, shot } from "./lib.mjs";
import { sweepScenarios } from "./sweep.mjs";

/// Goes from /book to the time page for the Psychology session with any clinician in Sydney,
/// and opens the first day that has free times. Returns that day (YYYY-MM-DD).
async function openTimes(page, base) {
  await page.goto(`${base}/book`);
  // Booking starts at one clinic: choose Sydney unless it is already the one shown.
  const sydney = page.getByRole("link", { name: "Harbour Health Sydney" });
  if (await sydney.count()) await sydney.first().click();
  await page.getByRole("link", { name: /Psychology session/ }).click();
  await page.getByRole("link", { name: "Any available clinician" }).first().click();
  const day = page.locator("table.month-grid a").first();
  const label = await day.getAttribute("aria-label");
  await day.click();
  await page.waitForSelector("button.slot");
  return label.slice(0, 10);
}

const scenarios = [];
function scenario(name, fn) {
  scenarios.push({ name, fn });
}

// Shared between scenarios: the appointment the patient books.
const booked = {};

scenario("a patient books an appointment", async ({ browser, base }) => {
  const page = await browser.newPage();
  await login(page, base, "patient");
  const day = await openTimes(page, base);
  await shot(page, "01-patient-times");
  const first = page.locator("button.slot").first();
  booked.start = await first.getAttribute("data-start");
  booked.day = day;
  await first.click();
  await page.waitForURL(/\/book\/confirm\//);
  assert.match(await page.textContent("body"), /We are holding this time for you until/);
  await shot(page, "02-patient-confirm");
  await page.getByRole("button", { name: "Confirm booking" }).click();
  await page.waitForURL(/\/my\/appointments\/.+\?booked=1/);
  const body = await page.textContent("body");
  assert.match(body, /You are booked in/);
  assert.match(body, /Confirmed/);
  booked.id = new URL(page.url()).pathname.split("/")[3];
  booked.number = (body.match(/A-\d{4}-\d{6}/) || [])[0];
  await shot(page, "03-patient-booked");
  await page.close();
});

scenario("reception sees it in the week view, checks the patient in and completes it", async ({ browser, base }) => {
  assert.ok(booked.id, "the booking scenario ran first");
  const page = await browser.newPage();
  await login(page, base, "staff");
  const appt = await (await page.request.get(`${base}/api/v1/appointments/${booked.id}`)).json();
  await page.goto(`${base}/calendar?clinic=${appt.clinic_id}&view=week&provider=${appt.provider_id}&date=${booked.day}`);
  const block = page.locator(`a[href*="/appointments/${booked.id}"]`).first();
  await block.waitFor();
  assert.match(await page.textContent("body"), /Sam Patient/);
  await shot(page, "04-reception-week");
  await block.click();
  await page.waitForURL(new RegExp(`/appointments/${booked.id}`));
  for (const step of ["Check in", "Start", "Complete"]) {
    await page.goto(`${base}/appointments/${booked.id}`);
    await page.getByRole("button", { name: new RegExp(`^${step}`) }).first().click();
    await page.waitForLoadState("networkidle");
  }
  await page.goto(`${base}/appointments/${booked.id}`);
  assert.match(await page.textContent("body"), /Completed/);
  await shot(page, "05-reception-completed");
  await page.close();
});

scenario("a second patient trying the same slot gets the friendly conflict", async ({ browser, base }) => {
  const sam = await browser.newContext();
  const samPage = await sam.newPage();
  await login(samPage, base, "patient");
  await openTimes(samPage, base);
  const slot = samPage.locator("button.slot").first();
  const start = await slot.getAttribute("data-start");
  // Meanwhile a newly registered patient takes that very time.
  const other = await browser.newContext();
  const page = await other.newPage();
  await page.goto(`${base}/register`);
  await page.getByLabel("Given name").fill("Grace");
  await page.getByLabel("Family name").fill("Hopper");
  await page.getByLabel("Email").fill(`grace${Date.now()}@example.org`);
  await page.getByLabel("Password", { exact: true }).fill("compilers are fun");
  await page.getByLabel("Password again").fill("compilers are fun");
  await page.getByRole("button", { name: "Create my account" }).click();
  await page.waitForURL(/\/book/);
  await openTimes(page, base);
  await page.locator(`button.slot[data-start="${start}"]`).first().click();
  await page.getByRole("button", { name: "Confirm booking" }).click();
  await page.waitForURL(/booked=1/);
  // Sam clicks the time that is now gone.
  await slot.click();
  await samPage.waitForLoadState("domcontentloaded");
  const body = await samPage.textContent("body");
  assert.match(body, /this time was just taken/);
  assert.doesNotMatch(body, /Something went wrong/);
  assert.equal(await samPage.locator(`button.slot[data-start="${start}"]`).count(), 0, "the fresh list no longer offers it");
  await shot(samPage, "06-conflict");
  await sam.close();
  await other.close();
});

scenario("an admin adds an availability exception and the slot disappears for patients", async ({ browser, base }) => {
  const patient = await browser.newPage();
  await login(patient, base, "patient");
  const day = await openTimes(patient, base);
  const providerId = await patient.locator("button.slot").first().getAttribute("data-provider");
  const admin = await browser.newPage();
  await login(admin, base, "admin");
  await admin.goto(`${base}/setup/providers/${providerId}/availability`);
  await shot(admin, "07-admin-availability");
  const form = admin.locator("form", { has: admin.getByRole("button", { name: /Add exception/i }) });
  await form.getByLabel(/^From/i).fill(day);
  const until = form.getByLabel(/^(Until|To|Last)/i);
  if (await until.count()) await until.first().fill(day);
  const kind = form.getByLabel(/Kind|Type/i);
  if (await kind.count()) await kind.first().selectOption({ label: /Closed|Not available/i }).catch(async () => kind.first().selectOption("closed"));
  const reason = form.getByLabel(/Reason/i);
  if (await reason.count()) await reason.first().fill("Conference");
  await form.getByRole("button", { name: /Add exception/i }).click();
  await admin.waitForLoadState("domcontentloaded");
  assert.doesNotMatch(await admin.textContent("body"), /Something went wrong/);
  await shot(admin, "08-admin-exception-added");
  await patient.reload();
  const stillOffered = await patient.locator(`button.slot[data-provider="${providerId}"]`).count();
  assert.equal(stillOffered, 0, "no times with that provider on the closed day");
  await shot(patient, "09-patient-after-exception");
  await patient.close();
  await admin.close();
});

scenario("the dashboard renders its charts", async ({ browser, base }) => {
  const page = await browser.newPage();
  await login(page, base, "staff");
  await page.goto(`${base}/dashboard`);
  assert.equal(await page.locator("svg.chart").count(), 3);
  assert.ok((await page.locator("svg.chart rect").count()) > 10, "the charts have bars");
  await shot(page, "10-dashboard");
  await page.close();
});

scenario("a patient books on a 375 px phone screen", async ({ browser, base }) => {
  const context = await browser.newContext({ viewport: { width: 375, height: 812 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  await login(page, base, "patient");
  await openTimes(page, base);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 375, `no sideways scrolling on a phone (page is ${width}px wide)`);
  await shot(page, "11-phone-times");
  await page.locator("button.slot").first().click();
  await page.getByRole("button", { name: "Confirm booking" }).click();
  await page.waitForURL(/booked=1/);
  await shot(page, "12-phone-booked");
  await context.close();
});

scenario("reception registers a patient and finds them without typing the accents", async ({ browser, base }) => {
  const page = await browser.newPage();
  await login(page, base, "staff");
  await page.getByRole("link", { name: "Patients", exact: true }).click();
  await page.getByRole("link", { name: "Register a patient" }).click();
  await page.getByLabel("Given name").fill("Inès");
  await page.getByLabel("Family name").fill("Côté-Nuñez");
  await page.getByLabel("Date of birth").fill("2030-01-01");
  await page.getByRole("button", { name: "Register patient" }).click();
  assert.match(await page.textContent("body"), /cannot be in the future/);
  assert.equal(await page.getByLabel("Given name").inputValue(), "Inès", "what was typed is kept");
  await page.getByLabel("Date of birth").fill("1984-06-30");
  await page.getByLabel("Mobile phone").fill("+61 412 987 654");
  await page.getByLabel("Insurance or Medicare number").fill("2950 12345 1");
  await page.getByRole("button", { name: "Register patient" }).click();
  await page.waitForURL(/\/patients\/[0-9a-f-]+\?msg=registered/);
  const chart = await page.textContent("body");
  assert.match(chart, /The patient is registered/);
  assert.match(chart, /P\d{6}/);
  assert.doesNotMatch(chart, /Latest notes/, "reception never sees clinical notes");
  await shot(page, "13-reception-chart");
  await page.goto(`${base}/patients`);
  await page.getByLabel("Name, phone, email or record number").fill("ines cote");
  await page.getByRole("button", { name: "Search" }).click();
  await page.getByRole("link", { name: "Côté-Nuñez, Inès" }).waitFor();
  await page.getByLabel("Name, phone, email or record number").fill("987 654");
  await page.getByRole("button", { name: "Search" }).click();
  await page.getByRole("link", { name: "Côté-Nuñez, Inès" }).waitFor();
  await shot(page, "14-reception-search");
  await page.close();
});

scenario("a provider writes, signs and amends a progress note on a patient's chart", async ({ browser, base }) => {
  const page = await browser.newPage();
  await login(page, base, "provider");
  await page.goto(`${base}/patients`);
  await page.getByLabel("Provider").selectOption({ label: "Dr Mei Chen" });
  await page.getByLabel("Sort by").selectOption("last_visit");
  await page.getByRole("button", { name: "Search" }).click();
  await page.locator("table.pt-list tbody a").first().click();
  await page.getByRole("link", { name: "Notes", exact: true }).click();
  await page.getByRole("link", { name: "New progress note" }).click();
  await page.getByLabel("Progress note").fill("Walked to the shops without a rest. Pain 3/10.");
  await page.getByRole("button", { name: "Save and sign" }).click();
  await page.waitForURL(/\/notes\/[0-9a-f-]+\?msg=signed/);
  assert.match(await page.textContent("body"), /The note is signed/);
  assert.equal(await page.getByRole("link", { name: "Edit draft" }).count(), 0, "a signed note has no edit");
  await page.getByLabel("Reason for the amendment").fill("Late entry");
  await page.getByLabel("Amendment", { exact: true }).fill("Also reported better sleep.");
  await page.getByRole("button", { name: "Add amendment" }).click();
  await page.waitForURL(/msg=amended/);
  const body = await page.textContent("body");
  assert.match(body, /Walked to the shops/);
  assert.match(body, /Also reported better sleep/);
  await shot(page, "15-provider-note-amended");
  await page.close();
});

scenario("an admin builds an intake form, the patient fills it in and the answers reach the chart", async ({ browser, base }) => {
  const admin = await browser.newPage();
  await login(admin, base, "admin");
  await admin.goto(`${base}/setup/forms`);
  await admin.getByRole("link", { name: "New intake form" }).click();
  await admin.getByLabel("Name").fill("Sleep diary");
  await admin.locator("#q0-label").fill("How did you sleep this week?");
  await admin.locator("#q0-kind").selectOption("text");
  await admin.locator("[name='q0.required']").check();
  await admin.locator("#q1-label").fill("How rested do you feel?");
  await admin.locator("#q1-kind").selectOption("scale");
  await admin.locator("[name='q1.required']").check();
  await admin.getByRole("button", { name: "Save form" }).click();
  await admin.waitForURL(/\/setup\/forms\/[0-9a-f-]+\?saved=1/);
  assert.match(await admin.textContent("body"), /Current version: 1/);
  await shot(admin, "16-admin-form-builder");
  // Sent to the demo patient from their chart.
  await admin.goto(`${base}/patients`);
  await admin.getByLabel("Name, phone, email or record number").fill("sam patient");
  await admin.getByRole("button", { name: "Search" }).click();
  await admin.getByRole("link", { name: "Patient, Sam" }).click();
  await admin.getByRole("link", { name: "Forms", exact: true }).click();
  const chartForms = admin.url();
  await admin.getByLabel("Form", { exact: true }).selectOption({ label: "Sleep diary" });
  await admin.getByRole("button", { name: "Send to the patient" }).click();
  await admin.locator("article.df-form h3", { hasText: "Sleep diary" }).waitFor();

  const patient = await browser.newPage();
  await login(patient, base, "patient");
  await patient.goto(`${base}/my/forms`);
  await patient.getByRole("link", { name: "Fill in Sleep diary" }).click();
  await patient.getByLabel(/How did you sleep this week/).fill("Woke twice most nights.");
  await patient.getByRole("button", { name: "Send my answers" }).click();
  assert.match(await patient.textContent("body"), /Some answers need attention[\s\S]*Choose an answer/);
  assert.equal(await patient.getByLabel(/How did you sleep this week/).inputValue(), "Woke twice most nights.", "kept");
  await patient.locator("fieldset", { hasText: "How rested do you feel?" }).getByLabel("6", { exact: true }).check();
  await patient.getByRole("button", { name: "Send my answers" }).click();
  await patient.waitForURL(/\/my\/forms\?msg=sent/);
  await shot(patient, "17-patient-forms-sent");

  await admin.goto(chartForms);
  const body = await admin.textContent("body");
  assert.match(body, /Woke twice most nights/);
  await shot(admin, "18-chart-form-answers");
  await admin.close();
  await patient.close();
});

scenario("reception takes a payment on an overdue invoice and the patient sees their invoices", async ({ browser, base }) => {
  const page = await browser.newPage();
  await login(page, base, "staff");
  await page.getByRole("link", { name: "Billing", exact: true }).click();
  await page.getByLabel("Status").selectOption("overdue");
  await page.getByRole("button", { name: "Search" }).click();
  await shot(page, "20-billing-overdue");
  await page.locator("table.bl-list tbody a").first().click();
  await page.waitForURL(/\/billing\/invoices\//);
  assert.match(await page.textContent("h1"), /Invoice [A-Z]+-\d{4}-\d{6}/);
  // Too much is refused beside the field, and what was typed is kept.
  await page.getByLabel("Method").selectOption("cash");
  await page.getByLabel("Amount").fill("99999");
  await page.getByRole("button", { name: "Record payment" }).click();
  assert.match(await page.textContent("body"), /Nothing was saved|more than|owing/i);
  assert.equal(await page.getByLabel("Amount").inputValue(), "99999");
  await page.getByLabel("Amount").fill("10.00");
  await page.getByRole("button", { name: "Record payment" }).click();
  await page.waitForURL(/msg=paid/);
  assert.match(await page.textContent("body"), /The payment was recorded/);
  assert.match(await page.textContent("body"), /RCT-\d{4}-\d{6}/);
  await shot(page, "21-billing-paid-in-part");
  await page.getByRole("link", { name: "Reports" }).click();
  assert.ok((await page.locator("svg.chart").count()) >= 1, "the revenue chart is drawn");
  await shot(page, "22-billing-reports");
  await page.close();

  const patient = await browser.newPage();
  await login(patient, base, "patient");
  await patient.getByRole("link", { name: "Invoices", exact: true }).click();
  await patient.waitForURL(/\/my\/invoices/);
  await shot(patient, "23-patient-invoices");
  await patient.close();
});

scenario("an administrator connects another system with an API key and a webhook", async ({ browser, base }) => {
  const page = await browser.newPage();
  await login(page, base, "admin");
  await page.getByRole("link", { name: "Integrations", exact: true }).click();
  await page.waitForURL(/\/admin\/integrations$/);
  // A key without a name or an area is refused beside the fields, keeping what was chosen.
  await page.getByLabel("Read and write").check();
  await page.getByRole("button", { name: "Create key" }).click();
  let body = await page.textContent("body");
  assert.match(body, /Nothing was saved/);
  assert.match(body, /This field is required/);
  assert.ok(await page.getByLabel("Read and write").isChecked(), "the choice is kept");
  await page.getByLabel("What is it for?").fill("Reception display");
  await page.getByLabel("Read only").check();
  await page.getByLabel("Appointments").check();
  await page.getByRole("button", { name: "Create key" }).click();
  const token = await page.locator("#int-reveal-value").inputValue();
  assert.match(token, /^pxk_[A-Za-z0-9_-]{43}$/);
  await shot(page, "24-integrations-key-created");
  // Shown once: the list shows only the prefix, and reloading shows no key.
  await page.goto(`${base}/admin/integrations`);
  body = await page.textContent("body");
  assert.ok(!body.includes(token), "the key is not shown again");
  assert.ok(body.includes(token.slice(0, 12)), "its prefix is");
  const res = await page.request.get(`${base}/api/v1/appointments`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status(), 200, "the key works");
  await page.getByRole("row", { name: /Reception display/ }).getByRole("button", { name: "Revoke" }).click();
  await page.waitForURL(/msg=revoked/);
  assert.match(await page.getByRole("row", { name: /Reception display/ }).textContent(), /Revoked/);
  const refused = await page.request.get(`${base}/api/v1/appointments`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(refused.status(), 401, "a revoked key is refused");

  await page.getByLabel("Address").fill("not an address");
  await page.getByRole("button", { name: "Register endpoint" }).click();
  assert.match(await page.textContent("body"), /must start with https:\/\//);
  await page.getByLabel("Address").fill("http://127.0.0.1:9/hooks");
  await page.getByLabel("Description (optional)").fill("Clinic CRM");
  await page.getByLabel(/Patient registered/).check();
  await page.getByRole("button", { name: "Register endpoint" }).click();
  const secret = await page.locator("#int-reveal-value").inputValue();
  assert.match(secret, /^whsec_/);
  await page.getByRole("link", { name: "Deliveries and settings" }).click();
  await page.waitForURL(/\/admin\/integrations\/webhooks\//);
  assert.match(await page.textContent("body"), /Nothing has been sent to this endpoint yet/);
  await page.getByLabel("Send events to this endpoint").uncheck();
  await page.getByRole("button", { name: "Save" }).click();
  await page.waitForURL(/msg=saved/);
  assert.equal(await page.getByLabel("Send events to this endpoint").isChecked(), false);
  await shot(page, "25-integrations-webhook");
  await page.close();
});

/// The code an authenticator app shows for `key` (base32, as the set-up page shows it),
/// `stepsAhead` 30-second steps from now: RFC 6238 with HMAC-SHA1 and 6 digits.
function totp(key, stepsAhead = 0) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of key.replace(/[\s=-]/g, "").toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30) + stepsAhead));
  const mac = createHmac("sha1", Buffer.from(bytes)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1000000).padStart(6, "0");
}

scenario("a provider turns on two-factor login and an administrator resets it after a lost phone", async ({ browser, base }) => {
  const who = ["dr.okafor@demo.praxis.test", "demo-provider-pass"];
  const page = await browser.newPage();
  await login(page, base, who);
  await page.goto(`${base}/profile`);
  await page.getByRole("link", { name: "Set up two-factor login" }).click();
  await page.waitForURL(/\/profile\/two-factor$/);
  assert.ok(await page.locator(".qr-code svg").isVisible(), "the QR code is drawn on the page");
  await page.getByText("Cannot scan? Type the key instead").click();
  const key = await page.locator("#secret-key").textContent();
  assert.match(key, /^[A-Z2-7]{4}( [A-Z2-7]{4}){7}$/);
  await shot(page, "26-two-factor-setup");
  // A wrong code is refused beside the field; the app's code turns it on.
  await page.getByLabel("Code from the app").fill("000000");
  await page.getByRole("button", { name: "Turn on two-factor login" }).click();
  assert.match(await page.textContent("body"), /not correct/);
  await page.getByLabel("Code from the app").fill(totp(key));
  await page.getByRole("button", { name: "Turn on two-factor login" }).click();
  await page.getByRole("heading", { name: "Your recovery codes" }).waitFor();
  assert.equal(await page.locator(".recovery-codes li").count(), 10);
  const recovery = (await page.locator(".recovery-codes li").first().textContent()).trim();
  await shot(page, "27-two-factor-recovery-codes");
  await page.getByRole("link", { name: /I have saved them/ }).click();
  assert.match(await page.textContent("body"), /Two-factor login is on/);

  // Logging in now asks for the code after the password; a recovery code works too.
  await page.getByRole("button", { name: "Log out" }).click();
  await page.getByLabel("Email").fill(who[0]);
  await page.getByLabel("Password").fill(who[1]);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL(/\/login\/code/);
  await page.getByLabel("Code").fill("123456");
  await page.getByRole("button", { name: "Log in" }).click();
  assert.match(await page.textContent("body"), /not correct/);
  await page.getByLabel("Code").fill(totp(key, 1));
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL((u) => !u.pathname.startsWith("/login"));
  await page.getByRole("button", { name: "Log out" }).click();
  await page.getByLabel("Email").fill(who[0]);
  await page.getByLabel("Password").fill(who[1]);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL(/\/login\/code/);
  await page.getByLabel("Code").fill(recovery.toLowerCase());
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL((u) => !u.pathname.startsWith("/login"));
  await page.close();

  // The phone is lost: an administrator resets it, and the password alone logs in again.
  const admin = await browser.newPage();
  await login(admin, base, "admin");
  await admin.goto(`${base}/admin/users?q=okafor`);
  await admin.getByRole("link", { name: "Dr James Okafor" }).click();
  assert.match(await admin.textContent("body"), /Two-factor login\s*On/);
  await admin.getByRole("button", { name: /Reset two-factor login/ }).click();
  assert.match(await admin.textContent("body"), /Two-factor login was reset/);
  await admin.close();
  const again = await browser.newPage();
  await login(again, base, who);
  await again.close();
});

sweepScenarios(scenario);

async function main() {
  const server = await startServer();
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  let failed = 0;
  try {
    for (const s of scenarios) {
      if (process.env.ONLY && !s.name.includes(process.env.ONLY)) continue;
      const started = Date.now();
      try {
        await s.fn({ browser, base: server.base });
        console.log(`ok   ${s.name} (${Date.now() - started} ms)`);
      } catch (e) {
        failed++;
        console.log(`FAIL ${s.name}\n     ${e.stack || e}`);
      }
    }
  } finally {
    await browser.close();
    server.proc.kill("SIGTERM");
    rmSync(server.dataDir, { recursive: true, force: true });
  }
  console.log(failed ? `${failed} browser scenario(s) failed` : "all browser scenarios passed");
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
