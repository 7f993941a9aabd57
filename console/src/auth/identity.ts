// Who the signed-in person is to Leadpool, asked of the API itself (the token may come from an
// identity provider whose groups only the services map to roles): a rep if GetRepStatus answers
// for her, a manager if she is a rep who may also read alerts, an admin if she may read the
// audit log.
import { Code, ConnectError } from "@connectrpc/connect";
import { claim, routing, scheduler } from "../api/clients";

export interface Identity {
  displayName: string;
  /** "reps/{id}" when she is a rep of the policy in force. */
  rep?: string;
  team?: string;
  isRep: boolean;
  isManager: boolean;
  isAdmin: boolean;
}

export async function whoAmI(signedInAs: string): Promise<Identity> {
  const [status, alerts, audit] = await Promise.allSettled([
    claim.getRepStatus({}),
    scheduler.listAlerts({}),
    routing.listAuditRecords({ pageSize: 1 }),
  ]);
  const failures = [status, alerts, audit].flatMap((r) => (r.status === "rejected" ? [ConnectError.from(r.reason)] : []));
  const refused = failures.find((e) => e.code === Code.Unauthenticated || e.code === Code.Unavailable);
  if (refused) throw refused;

  const rep = status.status === "fulfilled" ? status.value.rep : undefined;
  const identity: Identity = {
    displayName: signedInAs,
    rep,
    isRep: !!rep,
    isManager: !!rep && alerts.status === "fulfilled",
    isAdmin: audit.status === "fulfilled",
  };
  if (rep) {
    try {
      const answer = await routing.getRep({ name: rep });
      identity.team = answer.rep?.team || undefined;
      identity.displayName = answer.rep?.displayName || signedInAs;
    } catch {
      // her name from the sign-in will do
    }
  }
  return identity;
}
