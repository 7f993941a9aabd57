// Playwright fixtures shared by every spec: one stack per test file (started in beforeAll,
// stopped in afterAll, also when tests fail), pages that fail their test on any console
// error, uncaught exception or Content-Security-Policy violation, sign-in helpers and
// screenshots under test-results/screenshots/.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, type BrowserContext, expect, type Page, test as base } from "@playwright/test";
import { RESULTS_DIR, type Stack, type StackOptions, startStack } from "./stack";

export { expect };

const SCREENSHOTS = join(RESULTS_DIR, "screenshots");

/** What went wrong in a page: console errors, uncaught exceptions, CSP violations. */
export class PageProblems {
  readonly problems: string[] = [];

  watch(page: Page, label: string): void {
    page.on("console", (message) => {
      if (message.type() === "error") this.problems.push(`${label}: console error: ${message.text()}`);
      else if (/Content.Security.Policy/i.test(message.text())) this.problems.push(`${label}: ${message.text()}`);
    });
    page.on("pageerror", (error) => this.problems.push(`${label}: uncaught: ${error.message}`));
  }

  /** CSP violations the page itself saw (securitypolicyviolation events). */
  async collectViolations(page: Page, label: string): Promise<void> {
    if (page.isClosed()) return;
    const seen = await page.evaluate(() => (window as unknown as { __csp?: string[] }).__csp ?? []).catch(() => []);
    for (const v of seen) this.problems.push(`${label}: CSP violation: ${v}`);
  }
}

/** Records every securitypolicyviolation in window.__csp (runs before the console's scripts). */
async function recordViolations(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    const w = window as unknown as { __csp: string[] };
    w.__csp = [];
    document.addEventListener("securitypolicyviolation", (e) => {
      w.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} (${e.sourceFile}:${e.lineNumber})`);
    });
  });
}

export interface Fixtures {
  /** Opens a page in a fresh browser context (its own memory, so its own sign-in). */
  openPage: (label: string, viewport?: { width: number; height: number }) => Promise<Page>;
}

/**
 * The spec's stack: started once for the file (beforeAll), stopped after it (afterAll).
 * `setup` runs once the stack is up (apply a policy, submit leads).
 */
export function useStack<T>(options: StackOptions, setup: (stack: Stack) => Promise<T>): { stack: () => Stack; data: () => T } {
  let stack: Stack | undefined;
  let data: T | undefined;
  base.beforeAll(async () => {
    base.setTimeout(120_000);
    stack = await startStack(options);
    data = await setup(stack);
  });
  base.afterAll(async () => {
    base.setTimeout(60_000);
    await stack?.stop();
  });
  return {
    stack: () => {
      if (!stack) throw new Error("the stack did not start (see beforeAll)");
      return stack;
    },
    data: () => data as T,
  };
}

export const test = base.extend<Fixtures & { problems: PageProblems }>({
  // eslint-disable-next-line no-empty-pattern -- Playwright reads the fixtures a function asks for
  problems: async ({}, use) => {
    await use(new PageProblems());
  },
  // The default page is watched too.
  page: async ({ page, problems }, use) => {
    await recordViolations(page.context());
    problems.watch(page, "page");
    await use(page);
    await problems.collectViolations(page, "page");
    expect(problems.problems, "no console errors, uncaught exceptions or CSP violations").toEqual([]);
  },
  openPage: async ({ browser, problems }, use) => {
    const opened: { label: string; context: BrowserContext; page: Page }[] = [];
    await use(async (label, viewport) => {
      const context = await newContext(browser, viewport);
      const page = await context.newPage();
      problems.watch(page, label);
      opened.push({ label, context, page });
      return page;
    });
    for (const { label, context, page } of opened) {
      await problems.collectViolations(page, label);
      await context.close();
    }
    expect(problems.problems, "no console errors, uncaught exceptions or CSP violations").toEqual([]);
  },
});

async function newContext(browser: Browser, viewport?: { width: number; height: number }): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: viewport ?? { width: 1280, height: 900 }, timezoneId: "UTC", locale: "en-GB" });
  await recordViolations(context);
  return context;
}

/** Development sign-in as the person with this display name; waits for the console to load. */
export async function devSignIn(page: Page, stack: Stack, displayName: string, path = "/"): Promise<void> {
  await page.goto(stack.url + path);
  await page.getByRole("button", { name: `Sign in as ${displayName}`, exact: true }).click();
  await expect(page.getByRole("button", { name: "Sign out" }), `signed in as ${displayName}`).toBeVisible({ timeout: 15_000 });
}

/** Follows a navigation link of the console (client-side; the session stays in memory). */
export async function goTo(page: Page, linkName: string): Promise<void> {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: linkName, exact: true }).click();
  await expect(page.getByRole("link", { name: linkName, exact: true })).toHaveAttribute("aria-current", "page");
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}
