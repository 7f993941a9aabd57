// The escalation queue: leads unclaimed too long, waiting for a manager (ListLeads, state
// ESCALATED); she assigns each to a rep of her teams (AssignLead).
import { type FormEvent, useState } from "react";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { claim } from "../../api/clients";
import type { Identity } from "../../auth/identity";
import { Page, Panel } from "../../components/Page";
import { RefusalMessage } from "../../components/Refusal";
import { Done, Empty, Loaded } from "../../components/States";
import { idOf, leadLabel, span } from "../../format";
import { LeadOrder } from "../../gen/leadpool/v1/claim_service_pb";
import { type Lead, LeadState } from "../../gen/leadpool/v1/lead_pb";
import type { Rep } from "../../gen/leadpool/v1/pool_pb";
import { useAction } from "../../hooks/useAction";
import { useAsync, useNow } from "../../hooks/useAsync";
import { useEventStream } from "../../hooks/useLive";
import { assignable, repLabel, useTeam } from "../../hooks/useTeam";

export function EscalationsPage({ identity }: { identity: Identity }) {
  const [done, setDone] = useState<string>();
  const queue = useAsync(async () => (await claim.listLeads({ states: [LeadState.ESCALATED], orderBy: LeadOrder.AGE, pageSize: 200 })).leads, []);
  const team = useTeam(identity);
  useEventStream(undefined, (event) => {
    if (event.type === "lead.escalated" || event.type === "lead.assigned" || event.type === "lead.claimed") void queue.reload();
  });
  return (
    <Page title="Escalations" intro="Leads nobody claimed in time. Hand each to a rep who can work it.">
      <Done>{done}</Done>
      <Panel title="Escalation queue">
        <Loaded state={queue} what="the escalation queue">
          {(leads) =>
            leads.length === 0 ? (
              <Empty>Nothing is escalated. Leads appear here when they wait too long in a pool.</Empty>
            ) : (
              <ul className="cards" aria-label="Escalated leads">
                {leads.map((lead) => (
                  <EscalatedLead
                    key={lead.name}
                    lead={lead}
                    reps={assignable(team.data?.reps ?? [])}
                    onAssigned={(text) => {
                      setDone(text);
                      void queue.reload();
                    }}
                  />
                ))}
              </ul>
            )
          }
        </Loaded>
      </Panel>
    </Page>
  );
}

function EscalatedLead({ lead, reps, onAssigned }: { lead: Lead; reps: Rep[]; onAssigned: (text: string) => void }) {
  const now = useNow(60_000);
  const label = leadLabel(lead);
  const [rep, setRep] = useState("");
  const [reason, setReason] = useState("");
  const assign = useAction(async () => {
    const answer = await claim.assignLead({ name: lead.name, rep, reason });
    const who = reps.find((r) => r.name === rep);
    onAssigned(`${label} is now with ${who ? repLabel(who) : idOf(answer.lead?.owner ?? rep)}.`);
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void assign.run();
  };
  const id = `esc-${idOf(lead.name)}`;
  const waited = lead.poolEntryTime ? span(now - timestampDate(lead.poolEntryTime).getTime()) : "—";
  return (
    <li className="card" aria-labelledby={id}>
      <h2 id={id} className="card-title">
        {label}
      </h2>
      <p className="muted">
        pool {idOf(lead.pool)} · score {lead.score} · waiting {waited}
        {lead.contact?.company && ` · ${lead.contact.company}`}
      </p>
      <form className="inline-form" onSubmit={submit}>
        <label>
          Assign {label} to{" "}
          <select value={rep} required onChange={(e) => setRep(e.target.value)}>
            <option value="">Choose a rep…</option>
            {reps.map((r) => (
              <option key={r.name} value={r.name}>
                {repLabel(r)} ({r.team || "no team"})
              </option>
            ))}
          </select>
        </label>
        <label>
          Reason <input value={reason} onChange={(e) => setReason(e.target.value)} />
        </label>
        <button type="submit" disabled={assign.pending || !rep}>
          Assign
        </button>
      </form>
      <RefusalMessage refusal={assign.refusal} onDismiss={assign.clear} />
    </li>
  );
}
