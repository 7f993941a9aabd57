// The reps a manager oversees: her own team and every team that names her in the policy's
// `teams[].managers` (admins: everyone) — from ListReps and the policy in force (GetPolicy).
import { parse } from "yaml";
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

async function overseenTeams(identity: Identity): Promise<string[]> {
  const teams = new Set<string>(identity.team ? [identity.team] : []);
  const me = identity.rep ? idOf(identity.rep) : "";
  const policy = await routing.getPolicy({ version: 0n });
  const doc = parse(policy.policy?.document ?? "") as { teams?: { id?: string; managers?: string[] }[] } | null;
  for (const team of doc?.teams ?? []) {
    if (team.id && team.managers?.some((m) => idOf(m) === me)) teams.add(team.id);
  }
  return [...teams];
}

export function useTeam(identity: Identity) {
  return useAsync<Team>(async () => {
    const [reps, teams] = await Promise.all([
      listAllReps(),
      identity.isAdmin ? Promise.resolve([]) : overseenTeams(identity),
    ]);
    const mine = identity.isAdmin ? reps : reps.filter((r) => teams.includes(r.team));
    return { reps: mine.filter((r) => r.name !== identity.rep), teams };
  }, [identity.rep, identity.team, identity.isAdmin]);
}

/** Reps a lead can be handed to: active, not managers. */
export function assignable(reps: Rep[]): Rep[] {
  return reps.filter((r) => r.active && r.role !== RepRole.MANAGER);
}

export function repLabel(rep: Rep): string {
  return rep.displayName || idOf(rep.name);
}
