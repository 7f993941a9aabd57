// A manager's day: the escalation queue (c) and the pool health dashboard (d).
import type { Page } from "@playwright/test";
import { Outcome } from "../../src/gen/leadpool/v1/lead_pb";
import { asAdmin, asRep, applyPolicy, runJobUntilItActs, submitLeads } from "./support/api";
import { devSignIn, expect, screenshot, test, useStack } from "./support/fixtures";
import { MANAGER_POLICY } from "./support/policies";

const HOUR = 3_600_000;

const { stack } = useStack({ name: "manager" }, async (stack) => {
  await applyPolicy(await asAdmin(stack), MANAGER_POLICY);
});

test("a manager assigns an escalated lead and the rep sees it in her leads", async ({ openPage }) => {
  await submitLeads(stack(), [{ email: "esme@escalated.example", name: "Esme Escalated", score: 70 }]);
  // Nobody claims it for 49 hours: the aging job escalates it (as of then).
  await runJobUntilItActs(await asAdmin(stack()), "aging", new Date(Date.now() + 49 * HOUR));

  const max = await openPage("max");
  await devSignIn(max, stack(), "Max", "/escalations");
  const card = max.getByRole("listitem", { name: "Esme Escalated" });
  await expect(card).toBeVisible();
  await screenshot(max, "manager-escalations");
  await card.getByLabel("Assign Esme Escalated to").selectOption({ label: "Wendy (west)" });
  await card.getByLabel("Reason").fill("national account");
  await card.getByRole("button", { name: "Assign" }).click();
  await expect(max.getByRole("status").filter({ hasText: "Esme Escalated is now with Wendy." })).toBeVisible();
  await expect(max.getByRole("listitem", { name: "Esme Escalated" })).toHaveCount(0);
  await screenshot(max, "manager-escalation-assigned");

  const wendy = await openPage("wendy");
  await devSignIn(wendy, stack(), "Wendy", "/leads");
  const lead = wendy.getByRole("article", { name: "Esme Escalated" });
  await expect(lead).toBeVisible();
  await expect(lead).toContainText("assigned");
  await expect(lead).toContainText("assigned to you by a manager");
  await expect(lead.getByRole("button", { name: "Accept" })).toBeVisible();
  await screenshot(wendy, "rep-assigned-lead");
});

test("a manager previews moving a rep's leads, then moves them", async ({ page }) => {
  await submitLeads(stack(), [{ email: "rita@reassign.example", name: "Rita Reassign", score: 65 }]);
  const wendy = await asRep(stack(), "wendy");
  await wendy.claim.claimLead({ name: (await wendy.claim.listPoolLeads({ parent: "pools/inbound" })).leads.find((l) => l.contact?.name === "Rita Reassign")!.name });

  await devSignIn(page, stack(), "Max", "/team");
  await expect(page.getByRole("listitem", { name: "Rita Reassign" })).toContainText("held by wendy");
  await page.getByLabel("From", { exact: true }).selectOption({ label: "Wendy" });
  await page.getByLabel("To", { exact: true }).selectOption({ label: "Will" });
  await page.getByLabel("Reason").fill("Wendy is on vacation");
  await page.getByRole("button", { name: "Preview" }).click();
  const preview = page.getByRole("region", { name: "Reassignment preview" });
  await expect(preview).toContainText("Would move");
  await expect(preview).toContainText("Rita Reassign → will");
  await screenshot(page, "manager-reassign-preview");
  // The preview moved nothing.
  const before = (await (await asAdmin(stack())).claim.listLeads({ owner: "reps/wendy" })).leads.map((l) => l.contact?.name);
  expect(before).toContain("Rita Reassign");

  await preview.getByRole("button", { name: /^Move \d+ lead\(s\)$/ }).click();
  await expect(page.getByRole("status").filter({ hasText: /lead\(s\) moved/ })).toBeVisible();
  await expect(page.getByRole("listitem", { name: "Rita Reassign" })).toContainText("held by will");
});

async function figure(page: Page, table: string, row: string): Promise<string> {
  const cell = page.getByRole("table", { name: table }).getByRole("row", { name: row }).getByRole("cell");
  await expect(cell).toBeVisible();
  return (await cell.textContent())!.trim();
}

test("the health dashboard shows the figures GetPoolHealth returns", async ({ page }) => {
  // A pool's history made through the API: five arrivals, two claims, a contact, an outcome.
  await submitLeads(
    stack(),
    Array.from({ length: 5 }, (_, i) => ({ email: `h${i}@health.example`, name: `Health ${i}`, score: 40 + i, source: "health" })),
  );
  const will = await asRep(stack(), "will");
  const first = (await will.claim.claimNext({ pool: "pools/health" })).lead!;
  await will.claim.claimNext({ pool: "pools/health" });
  await will.claim.recordContact({ name: first.name, note: "called" });
  await will.claim.recordOutcome({ name: first.name, outcome: Outcome.OPPORTUNITY, dealSizeMinor: 125_000n });

  await devSignIn(page, stack(), "Max", "/health?pool=health");
  await expect(page.getByRole("heading", { name: "How many leads wait in health?" })).toBeVisible();
  const h = await (await asAdmin(stack())).scheduler.getPoolHealth({ name: "pools/health", timeZone: "UTC" });

  // What the pool is known to hold, so the comparison below compares something.
  expect(h.depth).toBe(3n);
  expect(h.warningThreshold).toBe(3n);
  expect(h.criticalThreshold).toBe(6n);
  expect(h.depletion?.claims).toBe(2n);
  expect(h.depletion?.newLeads).toBe(5n);

  const n = (v: bigint | number | undefined) => Number(v ?? 0).toLocaleString("en-GB");
  expect(await figure(page, "health depth", "Available leads")).toBe(n(h.depth));
  expect(await figure(page, "health depth", "Warning threshold")).toBe(n(h.warningThreshold));
  expect(await figure(page, "health depth", "Critical threshold")).toBe(n(h.criticalThreshold));
  expect(await figure(page, "health depth", "Escalated")).toBe(n(h.escalated));
  expect(await figure(page, "health depletion", "Claims, last 24 h")).toBe(n(h.depletion?.claims));
  expect(await figure(page, "health depletion", "New leads, last 24 h")).toBe(n(h.depletion?.newLeads));
  expect(await figure(page, "health depletion", "Depletion rate, last 24 h")).toBe(h.depletion!.rate!.toFixed(2));
  expect(await figure(page, "health ages", "Under 12 h")).toBe(`${n(h.ages?.under12h)} (${h.ages!.under12hPercent.toFixed(0)}%)`);
  expect(await figure(page, "health claim speed", "Claims, last 7 days")).toBe(n(h.velocity?.claims));
  expect(await figure(page, "health forecast", "Claims per hour")).toBe(h.forecast!.claimsPerHour.toFixed(2));
  expect(await figure(page, "health forecast", "Forecast")).toBe(h.forecast!.summary);

  const conversion = page.getByRole("row", { name: /^health / }).filter({ hasText: "%" });
  await expect(conversion).toContainText(`${n(h.conversion?.opportunities)} (${h.conversion!.opportunityPercent.toFixed(1)}%)`);
  await expect(page.getByRole("img", { name: /Depth of health/ })).toBeVisible();
  await expect(page.getByRole("img", { name: "Claims from health by hour and weekday" })).toBeVisible();
  // M3 per pool type, as ListPoolTypeVelocity gives it.
  const types = (await (await asAdmin(stack())).scheduler.listPoolTypeVelocity({})).types;
  const kind = types.find((t) => t.pools.includes("pools/health"))!;
  expect(kind.velocity?.claims).toBeGreaterThanOrEqual(2n);
  const typeRow = page.getByRole("table").filter({ hasText: "Pool type" }).getByRole("row", { name: new RegExp(`^${kind.kind} `) });
  await expect(typeRow).toContainText(n(kind.velocity?.claims));
  await screenshot(page, "manager-pool-health");
});
