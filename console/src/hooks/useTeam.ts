// The reps a manager oversees: her own team and every team that names her in the policy's
// `teams[].managers` (admins: everyone) — from ListReps and GetCaller's `oversees_teams`.
import { routing } from "../api/clients";
import type { Identity } from "../auth/identity";
import { type Rep, RepRole } from "../gen/leadpool/v1/pool_pb";
import { idOf } from "../format";
import { useAsync } from "./useAsync";

export interface Team {
  /** Every rep she oversees (active or not), herself excluded. */
  reps: Rep[];
  /** The team ids she oversees; empty for admins (all). */
  teams: string[];
}

export async function listAllReps(): Promise<Rep[]> {
  const reps: Rep[] = [];
  let pageToken = "";
  do {
    const page = await routing.listReps({ pageSize: 1000, pageToken });
    reps.push(...page.reps);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return reps;
}

export function useTeam(identity: Identity) {
  return useAsync<Team>(async () => {
    const reps = await listAllReps();
    const teams = identity.isAdmin ? [] : identity.teams;
    const mine = identity.isAdmin ? reps : reps.filter((r) => teams.includes(r.team));
    return { reps: mine.filter((r) => r.name !== identity.rep), teams };
  }, [identity.rep, identity.teams, identity.isAdmin]);
}

/** Reps a lead can be handed to: active, not managers. */
export function assignable(reps: Rep[]): Rep[] {
  return reps.filter((r) => r.active && r.role !== RepRole.MANAGER);
}

export function repLabel(rep: Rep): string {
  return rep.displayName || idOf(rep.name);
}
