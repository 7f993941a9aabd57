// A signed-in session: who, and a bearer token kept in memory only (never in localStorage,
// sessionStorage or cookies). Development sign-in asks DevSignInService for a one-hour token and
// signs in again before it runs out; OIDC is in oidc.ts.
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { devSignIn } from "../api/clients";
import type { Person } from "../gen/leadpool/dev/v1/sign_in_pb";

export interface Session {
  kind: "dev" | "oidc";
  /** Who signed in, as the sign-in knows her (a dev subject, or the IdP's name/email). */
  displayName: string;
  /** The current bearer token, renewed as needed. */
  token(): Promise<string | undefined>;
  signOut(): Promise<void>;
}

/** Renew this long before a development token expires. */
const RENEW_BEFORE_MS = 5 * 60 * 1000;

export async function startDevSession(subject: string): Promise<Session & { person?: Person }> {
  let answer = await devSignIn.signIn({ subject });
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  const schedule = (delayMs: number) => {
    if (stopped) return;
    timer = setTimeout(renew, Math.max(delayMs, 1000));
  };
  const renew = async () => {
    try {
      answer = await devSignIn.signIn({ subject });
      schedule(expiry() - Date.now() - RENEW_BEFORE_MS);
    } catch {
      schedule(30_000); // try again soon; the current token is still valid for a while
    }
  };
  const expiry = () => (answer.expireTime ? timestampDate(answer.expireTime).getTime() : Date.now() + 3_600_000);
  schedule(expiry() - Date.now() - RENEW_BEFORE_MS);

  return {
    kind: "dev",
    person: answer.person,
    displayName: answer.person?.displayName || subject,
    token: async () => answer.token,
    signOut: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
