// /config.json, served by the proxy next to the console (not part of the build).
export interface DevConfig {
  signIn: "dev";
}

export interface OidcConfig {
  signIn: "oidc";
  oidc: {
    /** The identity provider's issuer URL. */
    authority: string;
    clientId: string;
    scope?: string;
    /** Which token Leadpool's services verify: the access token (default) or the ID token. */
    token?: "access" | "id";
  };
}

export type ConsoleConfig = DevConfig | OidcConfig;

export async function loadConsoleConfig(): Promise<ConsoleConfig> {
  const response = await fetch("/config.json", { cache: "no-store" });
  if (!response.ok) throw new Error(`/config.json answered ${response.status}`);
  const config = (await response.json()) as Partial<ConsoleConfig>;
  if (config.signIn === "dev") return { signIn: "dev" };
  if (config.signIn === "oidc") {
    const oidc = (config as Partial<OidcConfig>).oidc;
    if (!oidc?.authority || !oidc.clientId) {
      throw new Error("/config.json: oidc.authority and oidc.clientId are required with signIn \"oidc\"");
    }
    if (oidc.token && oidc.token !== "access" && oidc.token !== "id") {
      throw new Error('/config.json: oidc.token is "access" or "id"');
    }
    return { signIn: "oidc", oidc };
  }
  throw new Error('/config.json: signIn must be "dev" or "oidc"');
}
