// The one transport of the console: gRPC-web to the page's own origin, where the proxy routes
// `/<package>.<Service>/<Method>` to the binary hosting it (proto/routes.yaml). Every call goes
// through the auth interceptor, which asks the signed-in session for a fresh bearer token.
import type { Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";

type TokenSource = () => Promise<string | undefined>;

let tokenSource: TokenSource = async () => undefined;

/** The session sets where tokens come from (memory only); signing out clears it. */
export function setTokenSource(source: TokenSource | null): void {
  tokenSource = source ?? (async () => undefined);
}

/** Development sign-in needs no token (and must work when the old one has expired). */
const WITHOUT_TOKEN = "leadpool.dev.v1.DevSignInService";

const bearer: Interceptor = (next) => async (request) => {
  if (request.service.typeName === WITHOUT_TOKEN) return next(request);
  const token = await tokenSource();
  if (token) request.header.set("authorization", `Bearer ${token}`);
  return next(request);
};

export const transport = createGrpcWebTransport({
  baseUrl: window.location.origin,
  interceptors: [bearer],
});
