// Shared by the browser tests: the server under test, logins, screenshots.

import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import net from "node:net";

export const here = dirname(fileURLToPath(import.meta.url));
export const BIN = process.env.PRAXIS_BIN || join(here, "..", "target", "debug", "praxis");
export const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
export const SHOTS = process.env.PRAXIS_UI_SHOTS || join(here, "..", "target", "ui-screenshots");
mkdirSync(SHOTS, { recursive: true });

export const LOGINS = {
  admin: ["admin@demo.praxis.test", "demo-admin-pass"],
  staff: ["reception@demo.praxis.test", "demo-staff-pass"],
  provider: ["dr.chen@demo.praxis.test", "demo-provider-pass"],
  patient: ["patient@demo.praxis.test", "demo-patient-pass"],
};

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

export async function startServer() {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), "praxis-ui-"));
  const proc = spawn(BIN, ["demo", "--bind", `127.0.0.1:${port}`], {
    env: { ...process.env, PRAXIS_DATA_DIR: dataDir, PRAXIS_LOG: "warn", PRAXIS_TIME_ZONE: "Australia/Sydney" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`praxis exited with ${proc.exitCode}`);
    try {
      const res = await fetch(`${base}/readyz`);
      if (res.ok) return { base, proc, dataDir };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error("praxis did not become ready in 120 s");
}

export async function login(page, base, who) {
  const [email, password] = Array.isArray(who) ? who : LOGINS[who];
  await page.goto(`${base}/login`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL((u) => !u.pathname.startsWith("/login"));
}

export async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

