// Every page renders for the roles that may see it, at 1280 px and at phone width (375 px),
// without console errors, uncaught exceptions or CSP violations (g), and without making the
// page wider than the screen. Each page's screenshot lands in test-results/screenshots/.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "@playwright/test";
import { asAdmin, asRep, applyPolicy, runJobUntilItActs, submitLeads } from "./support/api";
import { devSignIn, expect, goTo, screenshot, test, useStack } from "./support/fixtures";
import { REPO_DIR } from "./support/stack";

const { stack } = useStack({ name: "smoke" }, async (stack) => {
  const admin = await asAdmin(stack);
  // make up's demo policy: segmented pools, four teams, a manager.
  await applyPolicy(admin, readFileSync(join(REPO_DIR, "examples", "p2-segmented-pools.yaml"), "utf8"));
  await submitLeads(stack, [
    { email: "old@west.example", name: "Olive Oldlead", score: 40, source: "web", region: "west" },
  ]);
  await runJobUntilItActs(admin, "aging", new Date(Date.now() + 49 * 3_600_000)); // one escalated lead
  await submitLeads(stack, [
    { email: "grace@hopper.example", name: "Grace Hopper", company: "Navy", score: 92, source: "demo-request", region: "west" },
    { email: "alan@turing.example", name: "Alan Turing", score: 85, source: "demo-request", region: "west" },
    { email: "ada@lovelace.example", name: "Ada Lovelace", score: 67, source: "mql", region: "east" },
    { email: "barbara@liskov.example", name: "Barbara Liskov", score: 48, source: "web", region: "west" },
    { email: "don@knuth.example", name: "Donald Knuth", score: 33, source: "web", region: "east" },
  ]);
  const wendy = await asRep(stack, "wendy");
  await wendy.claim.claimNext({ pool: "pools/demo-requests" });
  const nora = await asRep(stack, "nora");
  await nora.claim.claimNext({ pool: "pools/east" });
  await admin.events.createWebhookSubscription({ url: "http://127.0.0.1:9/hooks", types: ["lead.claimed"], description: "CRM sync" });
});

const PERSONAS: { who: string; pages: string[] }[] = [
  { who: "wendy", pages: ["Pools", "pool demo-requests", "My leads", "My limits"] },
  { who: "max", pages: ["Pools", "My leads", "My limits", "Escalations", "Team", "Pool health"] },
  { who: "Ops (administrator)", pages: ["Escalations", "Team", "Pool health", "Policy", "Audit log", "Webhooks"] },
];

async function visit(page: Page, name: string): Promise<void> {
  if (name.startsWith("pool ")) {
    await goTo(page, "Pools");
    await page.getByRole("link", { name: `Open pool ${name.slice(5)}` }).click();
  } else {
    await goTo(page, name);
  }
  await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
  await expect(page.getByText(/^Loading /), `${name}: everything loaded`).toHaveCount(0, { timeout: 15_000 });
}

for (const width of [1280, 375]) {
  for (const { who, pages } of PERSONAS) {
    test(`${who}'s pages render at ${width} px`, async ({ openPage }) => {
      const page = await openPage(`${who}@${width}`, { width, height: width === 375 ? 812 : 900 });
      await devSignIn(page, stack(), who);
      const nav = page.getByRole("navigation", { name: "Main" });
      // Navigation shows what her roles allow, and nothing else.
      for (const name of pages.filter((p) => !p.startsWith("pool "))) {
        await expect(nav.getByRole("link", { name, exact: true })).toBeVisible();
      }
      await expect(nav.getByRole("link")).toHaveCount(pages.filter((p) => !p.startsWith("pool ")).length);
      for (const name of pages) {
        await visit(page, name);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        expect(overflow, `${name} at ${width} px fits the screen`).toBeLessThanOrEqual(0);
        await screenshot(page, `${who.split(" ")[0].toLowerCase()}-${name.replace(/[^a-z0-9]+/gi, "-").toLowerCase()}-${width}`);
      }
    });
  }
}

test("every action is reachable with the keyboard", async ({ page }) => {
  await devSignIn(page, stack(), "wendy", "/pools/demo-requests");
  await expect(page.getByRole("row", { name: /Alan Turing/ })).toBeVisible();
  // Tab to "Claim next" and press Enter: no mouse.
  const claimNext = page.getByRole("button", { name: "Claim next" });
  for (let i = 0; i < 30 && !(await claimNext.evaluate((el) => el === document.activeElement)); i++) {
    await page.keyboard.press("Tab");
  }
  await expect(claimNext).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page.getByRole("status").filter({ hasText: "You claimed Alan Turing." })).toBeVisible();
});

test("the console's origin sends a strict CSP and the usual security headers, and the CSP holds", async ({ browser }) => {
  // A page of its own: the refusal below is this test's doing, not a problem of the console.
  const page = await browser.newPage();
  const answer = await page.request.get(`${stack().url}/`);
  const headers = answer.headers();
  const csp = headers["content-security-policy"] ?? "";
  for (const directive of ["default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"]) {
    expect(csp, directive).toContain(directive);
  }
  expect(csp).not.toContain("unsafe-inline");
  expect(csp).not.toContain("unsafe-eval");
  expect(headers["x-content-type-options"]).toBe("nosniff");
  expect(headers["x-frame-options"]).toBe("DENY");
  expect(headers["referrer-policy"]).toBe("no-referrer");

  // Script injected into the signed-in console (what an XSS would do) does not run.
  await devSignIn(page, stack(), "wendy");
  const refused = await page.evaluate(
    () =>
      new Promise<string>((resolve) => {
        document.addEventListener("securitypolicyviolation", (e) => resolve(e.violatedDirective), { once: true });
        const script = document.createElement("script");
        script.textContent = "window.__injected = true";
        document.body.appendChild(script);
      }),
  );
  expect(refused).toMatch(/^script-src/);
  expect(await page.evaluate(() => (window as unknown as { __injected?: boolean }).__injected === true)).toBe(false);
  await page.close();
});
