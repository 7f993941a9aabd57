// OpenID Connect sign-in: authorization code flow with PKCE (oidc-client-ts). Tokens stay in
// memory (an InMemoryWebStorage user store); only the PKCE state of a sign-in in progress uses
// sessionStorage. Renewal uses the refresh token (no iframes).
import { InMemoryWebStorage, type User, UserManager, WebStorageStateStore } from "oidc-client-ts";
import type { OidcConfig } from "./config";
import type { Session } from "./session";

export const CALLBACK_PATH = "/auth/callback";

let manager: UserManager | undefined;

export function oidcManager(config: OidcConfig): UserManager {
  manager ??= new UserManager({
    authority: config.oidc.authority,
    client_id: config.oidc.clientId,
    scope: config.oidc.scope ?? "openid profile email",
    response_type: "code",
    redirect_uri: window.location.origin + CALLBACK_PATH,
    post_logout_redirect_uri: window.location.origin + "/",
    userStore: new WebStorageStateStore({ store: new InMemoryWebStorage() }),
    stateStore: new WebStorageStateStore({ store: window.sessionStorage }),
    automaticSilentRenew: true,
    loadUserInfo: false,
    monitorSession: false,
  });
  return manager;
}

/** Sends the browser to the identity provider; it comes back to /auth/callback. */
export async function beginOidcSignIn(config: OidcConfig, returnTo: string): Promise<void> {
  await oidcManager(config).signinRedirect({ state: { returnTo } });
}

/** Completes the sign-in on /auth/callback; returns the session and where to go. */
export async function completeOidcSignIn(config: OidcConfig): Promise<{ session: Session; returnTo: string }> {
  const um = oidcManager(config);
  const user = await um.signinRedirectCallback();
  const state = user.state as { returnTo?: string } | undefined;
  return { session: oidcSession(config, um, user), returnTo: state?.returnTo ?? "/" };
}

function oidcSession(config: OidcConfig, um: UserManager, first: User): Session {
  let user: User | null = first;
  const loaded = (next: User) => {
    user = next;
  };
  const unloaded = () => {
    user = null;
  };
  um.events.addUserLoaded(loaded);
  um.events.addUserUnloaded(unloaded);
  const profile = first.profile;
  return {
    kind: "oidc",
    displayName: String(profile.name ?? profile.email ?? profile.preferred_username ?? profile.sub),
    token: async () => {
      if (user?.expired && user.refresh_token) {
        try {
          user = await um.signinSilent();
        } catch {
          // the call goes out with the expired token and is refused with a clear message
        }
      }
      if (!user) return undefined;
      return config.oidc.token === "id" ? user.id_token : user.access_token;
    },
    signOut: async () => {
      um.events.removeUserLoaded(loaded);
      um.events.removeUserUnloaded(unloaded);
      um.stopSilentRenew();
      await um.removeUser();
    },
  };
}
