// Sign-in through a company identity provider (f): a local OpenID Connect provider issues RS256
// tokens naming people by email and groups; the services map them to reps and roles
// (auth.discovery, auth.claims); the console signs in with the code flow and PKCE, keeps the
// tokens in memory, renews them with the refresh token — and a token without the mapped claim
// is refused with a clear message.
import { asAdmin, applyPolicy, submitLeads } from "./support/api";
import { expect, screenshot, test, useStack } from "./support/fixtures";
import { type OidcProvider, startOidcProvider } from "./support/oidcProvider";
import { OIDC_POLICY } from "./support/policies";
import { waitFor } from "./support/stack";

const CLIENT_ID = "leadpool-console";
let provider: OidcProvider;
let consoleOrigin = "";

test.beforeAll(async () => {
  provider = await startOidcProvider({
    clientId: CLIENT_ID,
    allowedOrigin: () => consoleOrigin,
    // Short-lived, so the console renews it (refresh token) during the test.
    accessTokenSeconds: 75,
    users: [
      { id: "idp-7f3a9c", name: "Olivia", email: "olivia@example.com", groups: ["sales"] },
      { id: "idp-1b2c3d", name: "Oscar", email: "oscar@example.com", groups: ["sales", "sales-managers"] },
      { id: "idp-000nem", name: "Nemo", groups: ["sales"] },
    ],
  });
});

const { stack } = useStack(
  {
    name: "oidc",
    devSignIn: false,
    get issuer() {
      return provider.issuer;
    },
    get connectSrc() {
      return [provider.issuer];
    },
    get configJson() {
      return { signIn: "oidc", oidc: { authority: provider.issuer, clientId: CLIENT_ID, scope: "openid profile email", token: "access" } };
    },
    configToml: (secret: string) => `
[auth]
issuer = "${provider.issuer}"
audience = "leadpool"
algorithms = ["HS256", "RS256"]
hs256_secret = "${secret}"
discovery = true

[auth.claims]
subject = "email"
match = "email"
roles = "groups"

[auth.claims.role_map]
sales = "rep"
"sales-managers" = "manager"
"leadpool-admins" = "admin"
`,
  },
  async (stack) => {
    consoleOrigin = stack.url;
    await applyPolicy(await asAdmin(stack, false), OIDC_POLICY);
    await submitLeads(stack, [{ email: "fiona@field.example", name: "Fiona Field", score: 70 }]);
  },
);

test.afterAll(async () => {
  await provider?.stop();
});

test("a rep signs in through the identity provider and sees her pools", async ({ page }) => {
  await page.goto(stack().url + "/");
  await page.getByRole("button", { name: "Sign in with your company account" }).click();
  await expect(page).toHaveURL(new RegExp(`^${provider.issuer}/authorize`));
  await screenshot(page, "oidc-provider");
  await page.getByRole("button", { name: "Continue as Olivia (olivia@example.com)" }).click();

  await expect(page.getByRole("heading", { name: "My pools" })).toBeVisible({ timeout: 15_000 });
  await expect(page).toHaveURL(`${stack().url}/pools`);
  const pool = page.getByRole("listitem", { name: "Field leads" });
  await expect(pool).toContainText("You may claim here");
  await expect(page.getByRole("button", { name: "Sign out" })).toBeVisible();
  await screenshot(page, "oidc-rep-pools");
  expect(provider.grants).toEqual(["authorization_code"]);

  // Tokens live in memory only: nothing in web storage or cookies holds one.
  const token = provider.accessTokens.at(-1)!;
  const stored = await page.evaluate(() => JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage }, cookies: document.cookie }));
  expect(stored).not.toContain(token);
  expect(stored).not.toContain("refresh_token");

  // The access token lasts 75 s; the console renews it with the refresh token before then.
  await waitFor("the console to renew its access token with the refresh token", 40_000, async () =>
    provider.grants.includes("refresh_token") ? true : undefined,
  );
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "My leads" }).click();
  await expect(page.getByRole("heading", { name: "My leads" })).toBeVisible();
  await expect(page.getByRole("alert")).toHaveCount(0);
});

test("a token without the mapped claim is refused with a clear message", async ({ page }) => {
  await page.goto(stack().url + "/");
  await page.getByRole("button", { name: "Sign in with your company account" }).click();
  await page.getByRole("button", { name: "Continue as Nemo (no email)" }).click();
  const refusal = page.getByRole("alert");
  await expect(refusal).toContainText("Leadpool did not accept your sign-in.", { timeout: 15_000 });
  await expect(refusal).toContainText("carries no email");
  await expect(page.getByRole("button", { name: "Sign in with your company account" })).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Main" })).toHaveCount(0);
  await screenshot(page, "oidc-refused-without-email");
});
