// A rep's day: a shared pool stays live across reps (a), and a limit refusal says when she can
// claim again (b).
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { asAdmin, asRep, applyPolicy, submitLeads } from "./support/api";
import { devSignIn, expect, goTo, screenshot, test, useStack } from "./support/fixtures";
import { REP_POLICY } from "./support/policies";

const { stack } = useStack({ name: "rep" }, async (stack) => {
  await applyPolicy(await asAdmin(stack), REP_POLICY);
  await submitLeads(stack, [
    { email: "tess@top.example", name: "Tess Top", company: "Top Co", score: 95 },
    { email: "mia@middle.example", name: "Mia Middle", score: 60 },
    { email: "lou@low.example", name: "Lou Low", score: 20 },
    ...Array.from({ length: 6 }, (_, i) => ({ email: `busy${i}@busy.example`, name: `Busy Lead ${i}`, score: 50 + i, source: "busy" })),
  ]);
});

test("a lead another rep claims disappears from my pool view within seconds", async ({ openPage }) => {
  const alice = await openPage("alice");
  const bob = await openPage("bob");
  await devSignIn(alice, stack(), "Alice", "/pools/shared");
  await devSignIn(bob, stack(), "Bob", "/pools/shared");

  const bobsRow = bob.getByRole("row", { name: /Tess Top/ });
  await expect(bobsRow).toBeVisible();
  await expect(alice.getByRole("row", { name: /Tess Top/ })).toBeVisible();
  await screenshot(bob, "rep-pool-before-claim");

  await alice.getByRole("button", { name: "Claim next" }).click();
  await expect(alice.getByRole("status").filter({ hasText: "You claimed Tess Top." })).toBeVisible();
  const claimedAt = Date.now();

  // Bob never touched his page: the lead leaves his view by itself.
  await expect(bobsRow, "the claimed lead leaves the other rep's view").toHaveCount(0, { timeout: 2500 });
  const tookMs = Date.now() - claimedAt;
  expect(tookMs).toBeLessThan(2500);
  await expect(bob.getByRole("row", { name: /Mia Middle/ })).toBeVisible();
  await expect(alice.getByRole("row", { name: /Tess Top/ })).toHaveCount(0);
  await screenshot(bob, "rep-pool-after-other-rep-claimed");
  await screenshot(alice, "rep-pool-after-claim-next");

  // Alice finds it in her leads, with the contact deadline counting down.
  await goTo(alice, "My leads");
  const card = alice.getByRole("article", { name: "Tess Top" });
  await expect(card).toBeVisible();
  await expect(card.getByText(/left to contact/)).toBeVisible();
  await expect(card.getByText("tess@top.example")).toBeVisible();
  await screenshot(alice, "rep-my-leads");
});

test("a rep works her leads: contact, outcome, release with a reason", async ({ page }) => {
  await devSignIn(page, stack(), "Alice", "/leads");
  const tess = page.getByRole("article", { name: "Tess Top" });
  await tess.getByRole("button", { name: "Record contact" }).click();
  await tess.getByLabel("Note (optional)").fill("called, demo booked");
  await tess.getByRole("button", { name: "Save contact" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Contact with Tess Top recorded." })).toBeVisible();
  await expect(tess).toContainText("contacted");

  await tess.getByRole("button", { name: "Record outcome" }).click();
  await tess.getByLabel("Outcome").selectOption({ label: "Opportunity" });
  await tess.getByLabel("Deal size").fill("1250");
  await tess.getByRole("button", { name: "Save outcome" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Outcome for Tess Top recorded." })).toBeVisible();
  const closed = page.getByRole("region", { name: "Closed and returned" });
  await expect(closed.getByRole("article", { name: "Tess Top" })).toContainText("opportunity");
  await expect(closed.getByRole("article", { name: "Tess Top" })).toContainText("Deal size 1,250.00");

  // A lead she claims elsewhere (another tab, the API) appears here by itself: her event stream.
  const alice = await asRep(stack(), "alice");
  await alice.claim.claimNext({ pool: "pools/shared" });
  const mia = page.getByRole("article", { name: "Mia Middle" });
  await expect(mia, "her own claim arrives through WatchEvents").toBeVisible({ timeout: 5000 });
  await mia.getByRole("button", { name: "Release" }).click();
  await mia.getByLabel("Why release it?").fill("wrong territory");
  await mia.getByRole("button", { name: "Release lead" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Mia Middle went back to its pool." })).toBeVisible();
  await screenshot(page, "rep-my-leads-worked");
  const back = await alice.claim.listPoolLeads({ parent: "pools/shared" });
  expect(back.leads.map((l) => l.contact?.name)).toContain("Mia Middle");
});

test("a rep over her hourly limit is told when she can claim again", async ({ page }) => {
  await devSignIn(page, stack(), "Carol", "/pools/busy");
  const claimNext = page.getByRole("button", { name: "Claim next" });
  for (let i = 0; i < 3; i++) {
    await claimNext.click();
    await expect(page.getByRole("status").filter({ hasText: /^You claimed Busy Lead/ })).toBeVisible();
  }
  const askedAt = new Date();
  await claimNext.click();
  const refusal = page.getByRole("alert");
  await expect(refusal).toContainText("You reached your hourly claim limit.");
  // The time, with the day before it when that is not today ("Mon 7 Dec 00:07").
  const again = /You can claim again at (?:(\w{3} \d{1,2} \w{3}) )?(\d{2}:\d{2})\./;
  await expect(refusal).toContainText(again);
  await expect(refusal).toContainText(/Limit: /);
  await screenshot(page, "rep-hourly-limit-refusal");

  // The time shown is when the API says the oldest claim leaves the hour (browser in UTC).
  const status = await (await asRep(stack(), "carol")).claim.getRepStatus({});
  const hourly = status.limits.find((l) => l.limit === "HOURLY_CLAIM_LIMIT" && !l.pool);
  expect(hourly, "GetRepStatus lists the hourly limit").toBeTruthy();
  expect(hourly!.remaining).toBe(0);
  const reset = timestampDate(hourly!.resetTime!);
  const hhmm = (d: Date) => d.toISOString().slice(11, 16);
  const [, day, shown] = (await refusal.textContent())!.match(again)!;
  expect([hhmm(reset), hhmm(new Date(reset.getTime() + 60_000))]).toContain(shown);
  const utcDay = (d: Date) => d.toISOString().slice(0, 10);
  if (utcDay(askedAt) === utcDay(new Date())) {
    expect(day !== undefined, "the day is shown exactly when it is not today").toBe(utcDay(reset) !== utcDay(askedAt));
  }
  if (day !== undefined) {
    const label = (d: Date) =>
      d.toLocaleDateString("en-GB", { weekday: "short", day: "numeric", month: "short", timeZone: "UTC" });
    expect([label(reset), label(new Date(reset.getTime() + 60_000))]).toContain(day);
  }

  // Her limits page says the same.
  await goTo(page, "My limits");
  const row = page.getByRole("row", { name: /hourly claim limit/i });
  await expect(row).toContainText("3 of 3");
  await expect(row).toContainText(shown);
  await screenshot(page, "rep-my-limits");
});
