// Ops: a policy change is dry-run first — the drain of a retired pool shows before the apply —
// then applied (e).
import { LeadState } from "../../src/gen/leadpool/v1/lead_pb";
import { asAdmin, applyPolicy, submitLeads } from "./support/api";
import { devSignIn, expect, screenshot, test, useStack } from "./support/fixtures";
import { ADMIN_POLICY_V1, ADMIN_POLICY_V2 } from "./support/policies";

const { stack } = useStack({ name: "admin" }, async (stack) => {
  await applyPolicy(await asAdmin(stack), ADMIN_POLICY_V1);
  await submitLeads(stack, [
    { email: "olga@old.example", name: "Olga Old", score: 50 },
    { email: "otto@old.example", name: "Otto Old", score: 40 },
  ]);
});

test("an admin's dry run shows the drain of a retired pool before the apply, then applies", async ({ page }) => {
  await devSignIn(page, stack(), "Ops (administrator)", "/policy");
  await expect(page.getByText(/Version 1 “console-e2e-admin”/)).toBeVisible();
  const editor = page.getByLabel("Policy document (YAML)");
  await expect(editor).toHaveValue(/old-pool/);

  const apply = page.getByRole("button", { name: "Apply" });
  await editor.fill(ADMIN_POLICY_V2);
  await expect(apply, "nothing is applied before a dry run").toBeDisabled();
  await page.getByRole("button", { name: "Dry run" }).click();

  const result = page.getByRole("region", { name: "Dry run result" });
  await expect(result).toBeVisible();
  await expect(result.getByRole("list", { name: "Changes" })).toContainText("removed pools/old-pool");
  const drain = result.getByRole("table", { name: "Drains" }).getByRole("row", { name: /old-pool/ });
  await expect(drain).toHaveText(/old-pool\s*new-pool\s*2/);
  await screenshot(page, "admin-policy-dry-run");

  // The dry run changed nothing.
  const admin = await asAdmin(stack());
  expect((await admin.routing.getPolicy({ version: 0n })).policy?.version).toBe(1n);

  await apply.click();
  await expect(page.getByRole("status").filter({ hasText: "Version 2 is in force; 2 lead(s) drained." })).toBeVisible();
  await expect(page.getByText(/Version 2 “console-e2e-admin”/)).toBeVisible();
  await expect(page.getByRole("row", { name: /^2 console-e2e-admin users\/ops/ })).toBeVisible();
  await screenshot(page, "admin-policy-applied");

  const moved = await admin.claim.listLeads({ pool: "pools/new-pool", states: [LeadState.AVAILABLE] });
  expect(moved.leads.map((l) => l.contact?.email).sort()).toEqual(["olga@old.example", "otto@old.example"]);
});

test("a refused apply says why, field by field", async ({ page }) => {
  // The policy in force arrives only after the admin has typed: her edit is kept, not replaced.
  let typed!: () => void;
  const afterTyping = new Promise<void>((resolve) => (typed = resolve));
  await page.route("**/leadpool.v1.RoutingService/GetPolicy", async (route) => {
    await afterTyping;
    await route.continue();
  });
  await devSignIn(page, stack(), "Ops (administrator)", "/policy");
  await page.getByLabel("Policy document (YAML)").fill("apiVersion: leadpool.dev/v1\nkind: Policy\nmetadata: { name: broken }\npools:\n  - { id: Not A Slug, type: sideways }\n");
  typed();
  await expect(page.getByText(/Version \d+ “console-e2e-admin”/)).toBeVisible();
  await page.getByRole("button", { name: "Dry run" }).click();
  const refusal = page.getByRole("alert");
  await expect(refusal).toContainText("Some of what you entered is not valid.");
  await expect(refusal).toContainText(/pools\[0\]/);
  await screenshot(page, "admin-policy-refused");
});
