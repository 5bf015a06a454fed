// Why does a page scroll sideways? Prints the elements that stick out past the right
// edge while their parent does not, and which blocks of <main> make the page wider.
// For fixing what the sweep finds: `W=375 node tests-ui/overflow.mjs staff /dashboard`.

import { chromium } from "playwright-core";
import { rmSync } from "node:fs";
import { CHROMIUM, startServer, login } from "./lib.mjs";

const [role, ...paths] = process.argv.slice(2);
const width = Number(process.env.W || 375);
const server = await startServer();
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu"] });
try {
  const context = await browser.newContext({ viewport: { width, height: 667 }, isMobile: width < 500 });
  const page = await context.newPage();
  await login(page, server.base, role);
  for (const path of paths) {
    await page.goto(server.base + path);
    const found = await page.evaluate(() => {
      const root = document.documentElement;
      const vw = root.clientWidth;
      const out = [`page ${root.scrollWidth} px wide in ${vw} px`];
      const name = (el) => `${el.tagName.toLowerCase()}${el.className && typeof el.className === "string" ? "." + el.className.trim().replace(/\s+/g, ".") : ""}`;
      for (const el of document.querySelectorAll("body *")) {
        if (el.closest("details:not([open]) > :not(summary)")) continue;
        const right = el.getBoundingClientRect().right;
        if (right > vw + 1 && el.parentElement.getBoundingClientRect().right <= vw + 1) {
          out.push(`sticks out to ${Math.round(right)} px: ${name(el)} in ${name(el.parentElement)} "${el.textContent.trim().slice(0, 30)}"`);
        }
      }
      const wide = root.scrollWidth;
      for (const el of document.querySelectorAll("main > *, main > * > *")) {
        const was = el.style.display;
        el.style.display = "none";
        const without = root.scrollWidth;
        el.style.display = was;
        if (without < wide) out.push(`without ${name(el)} the page is ${without} px`);
      }
      return out;
    });
    console.log(`${path}\n  ${found.join("\n  ")}`);
  }
} finally {
  await browser.close();
  server.proc.kill("SIGTERM");
  rmSync(server.dataDir, { recursive: true, force: true });
}
