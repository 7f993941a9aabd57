// Who the signed-in person is to Leadpool, asked of the API itself (RoutingService.GetCaller):
// the token may come from an identity provider whose claims only the services map to a rep and
// roles.
import { routing } from "../api/clients";

export interface Identity {
  displayName: string;
  /** "reps/{id}" when she is a rep of the policy in force. */
  rep?: string;
  team?: string;
  /** The teams she oversees as a manager; empty for admins, who oversee everything. */
  teams: string[];
  isRep: boolean;
  isManager: boolean;
  isAdmin: boolean;
}

export async function whoAmI(signedInAs: string): Promise<Identity> {
  const caller = await routing.getCaller({});
  const rep = caller.rep;
  const roles = new Set(caller.roles);
  return {
    displayName: rep?.displayName || signedInAs,
    rep: rep?.name,
    team: rep?.team || undefined,
    teams: caller.overseesTeams,
    isRep: !!rep,
    isManager: !!rep && roles.has("manager"),
    isAdmin: roles.has("admin"),
  };
}
