// A small OpenID Connect provider for the sign-in test, on a free local port: discovery,
// JWKS (an RS256 key made with jose), /authorize (a page to pick a user, then a redirect with
// a code), /token (authorization_code with the PKCE S256 check, and refresh_token) issuing
// RS256 JWT access tokens for Leadpool (aud "leadpool", sub an opaque id, email, groups).
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { freePorts } from "./stack";

export interface OidcUser {
  /** Opaque subject. */
  id: string;
  name: string;
  /** Absent: the token carries no email (the claim Leadpool maps people by). */
  email?: string;
  groups: string[];
  /** More claims for the access token. */
  claims?: Record<string, unknown>;
}

export interface OidcProvider {
  issuer: string;
  clientId: string;
  /** Grants answered so far, in order ("authorization_code", "refresh_token"). */
  grants: string[];
  /** Access tokens issued so far. */
  accessTokens: string[];
  stop(): Promise<void>;
}

interface Pending {
  clientId: string;
  redirectUri: string;
  challenge: string;
  nonce?: string;
  scope: string;
  user: OidcUser;
  expires: number;
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function body(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

export async function startOidcProvider(options: {
  users: OidcUser[];
  clientId: string;
  /** The console's origin: redirect URIs must start with it. */
  allowedOrigin: () => string;
  accessTokenSeconds?: number;
}): Promise<OidcProvider> {
  const [port] = await freePorts(1);
  const issuer = `http://127.0.0.1:${port}`;
  const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
  const kid = randomUUID();
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" };
  const lifetime = options.accessTokenSeconds ?? 300;
  const codes = new Map<string, Pending>();
  const refreshTokens = new Map<string, { user: OidcUser; clientId: string; scope: string }>();
  const transactions = new Map<string, Omit<Pending, "user" | "expires">>();
  const provider: OidcProvider = { issuer, clientId: options.clientId, grants: [], accessTokens: [], stop: async () => undefined };

  const json = (res: ServerResponse, status: number, value: unknown) => {
    res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
    res.end(JSON.stringify(value));
  };
  const oauthError = (res: ServerResponse, error: string, description: string) =>
    json(res, 400, { error, error_description: description });

  const tokens = async (user: OidcUser, clientId: string, scope: string, nonce?: string) => {
    const now = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = { groups: user.groups, name: user.name, scope, ...user.claims };
    if (user.email) claims.email = user.email;
    const access = await new SignJWT(claims)
      .setProtectedHeader({ alg: "RS256", kid, typ: "JWT" })
      .setIssuer(issuer)
      .setAudience("leadpool")
      .setSubject(user.id)
      .setIssuedAt(now)
      .setExpirationTime(now + lifetime)
      .setJti(randomUUID())
      .sign(privateKey);
    const idClaims: Record<string, unknown> = { name: user.name, groups: user.groups };
    if (user.email) idClaims.email = user.email;
    if (nonce) idClaims.nonce = nonce;
    const id = await new SignJWT(idClaims)
      .setProtectedHeader({ alg: "RS256", kid, typ: "JWT" })
      .setIssuer(issuer)
      .setAudience(clientId)
      .setSubject(user.id)
      .setIssuedAt(now)
      .setExpirationTime(now + lifetime)
      .sign(privateKey);
    const refresh = randomBytes(24).toString("base64url");
    refreshTokens.set(refresh, { user, clientId, scope });
    provider.accessTokens.push(access);
    return { access_token: access, id_token: id, refresh_token: refresh, token_type: "Bearer", expires_in: lifetime, scope };
  };

  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? "/", issuer);
      // The console calls discovery, JWKS and the token endpoint from its own origin.
      res.setHeader("access-control-allow-origin", "*");
      res.setHeader("access-control-allow-headers", "content-type, authorization, accept");
      res.setHeader("access-control-allow-methods", "GET, POST, OPTIONS");
      if (req.method === "OPTIONS") {
        res.writeHead(204).end();
        return;
      }
      if (url.pathname === "/.well-known/openid-configuration") {
        json(res, 200, {
          issuer,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: `${issuer}/token`,
          jwks_uri: `${issuer}/jwks`,
          response_types_supported: ["code"],
          subject_types_supported: ["public"],
          id_token_signing_alg_values_supported: ["RS256"],
          code_challenge_methods_supported: ["S256"],
          grant_types_supported: ["authorization_code", "refresh_token"],
          token_endpoint_auth_methods_supported: ["none"],
          scopes_supported: ["openid", "profile", "email", "offline_access"],
        });
        return;
      }
      if (url.pathname === "/jwks") {
        json(res, 200, { keys: [jwk] });
        return;
      }
      if (url.pathname === "/authorize" && req.method === "GET") {
        const q = url.searchParams;
        const redirectUri = q.get("redirect_uri") ?? "";
        if (q.get("client_id") !== options.clientId) return oauthError(res, "unauthorized_client", "unknown client_id");
        if (!redirectUri.startsWith(`${options.allowedOrigin()}/`)) return oauthError(res, "invalid_request", "redirect_uri not registered");
        if (q.get("response_type") !== "code") return oauthError(res, "unsupported_response_type", "code only");
        if (q.get("code_challenge_method") !== "S256" || !q.get("code_challenge")) return oauthError(res, "invalid_request", "PKCE S256 is required");
        const tx = randomUUID();
        transactions.set(tx, {
          clientId: options.clientId,
          redirectUri,
          challenge: q.get("code_challenge")!,
          nonce: q.get("nonce") ?? undefined,
          scope: q.get("scope") ?? "openid",
        });
        const state = q.get("state") ?? "";
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Test identity provider</title></head><body>
<main><h1>Test identity provider</h1><p>Sign in to Leadpool as:</p>
<form method="post" action="/authorize">
<input type="hidden" name="tx" value="${esc(tx)}"><input type="hidden" name="state" value="${esc(state)}">
${options.users.map((u) => `<p><button type="submit" name="user" value="${esc(u.id)}">Continue as ${esc(u.name)}${u.email ? ` (${esc(u.email)})` : " (no email)"}</button></p>`).join("\n")}
</form></main></body></html>`);
        return;
      }
      if (url.pathname === "/authorize" && req.method === "POST") {
        const form = await body(req);
        const tx = transactions.get(form.get("tx") ?? "");
        const user = options.users.find((u) => u.id === form.get("user"));
        if (!tx || !user) return oauthError(res, "invalid_request", "unknown sign-in");
        transactions.delete(form.get("tx")!);
        const code = randomBytes(24).toString("base64url");
        codes.set(code, { ...tx, user, expires: Date.now() + 60_000 });
        const back = new URL(tx.redirectUri);
        back.searchParams.set("code", code);
        back.searchParams.set("state", form.get("state") ?? "");
        res.writeHead(302, { location: back.toString() }).end();
        return;
      }
      if (url.pathname === "/token" && req.method === "POST") {
        const form = await body(req);
        const grant = form.get("grant_type");
        if (grant === "authorization_code") {
          const code = codes.get(form.get("code") ?? "");
          codes.delete(form.get("code") ?? "");
          if (!code || code.expires < Date.now()) return oauthError(res, "invalid_grant", "unknown or expired code");
          if (form.get("client_id") !== code.clientId) return oauthError(res, "invalid_client", "client_id does not match");
          if (form.get("redirect_uri") !== code.redirectUri) return oauthError(res, "invalid_grant", "redirect_uri does not match");
          const verifier = form.get("code_verifier") ?? "";
          const challenge = createHash("sha256").update(verifier).digest("base64url");
          if (!verifier || challenge !== code.challenge) return oauthError(res, "invalid_grant", "PKCE verification failed");
          provider.grants.push("authorization_code");
          json(res, 200, await tokens(code.user, code.clientId, code.scope, code.nonce));
          return;
        }
        if (grant === "refresh_token") {
          const token = form.get("refresh_token") ?? "";
          const known = refreshTokens.get(token);
          refreshTokens.delete(token);
          if (!known || form.get("client_id") !== known.clientId) return oauthError(res, "invalid_grant", "unknown refresh token");
          provider.grants.push("refresh_token");
          json(res, 200, await tokens(known.user, known.clientId, known.scope));
          return;
        }
        return oauthError(res, "unsupported_grant_type", String(grant));
      }
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
    } catch (err) {
      res.writeHead(500, { "content-type": "text/plain" }).end(String(err));
    }
  });
  await new Promise<void>((ok) => server.listen(port, "127.0.0.1", ok));
  provider.stop = () =>
    new Promise<void>((ok) => {
      server.closeAllConnections();
      server.close(() => ok());
    });
  return provider;
}
