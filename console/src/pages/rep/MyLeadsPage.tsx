// "My leads": what she holds, each with a live countdown to its contact deadline (and the
// warning before it), and what she can do with it: record contact or outcome, release it with
// a reason, accept or reject an assignment. Live through her event stream.
import { useState } from "react";
import { claim } from "../../api/clients";
import { Page, Panel } from "../../components/Page";
import { Empty, Loaded } from "../../components/States";
import { ContactCountdown } from "../../components/Countdown";
import { LeadActions } from "../../components/LeadActions";
import { dateTime, idOf, leadLabel, money, outcomeLabel, stateLabel } from "../../format";
import type { OpenLead } from "../../gen/leadpool/v1/claim_service_pb";
import { AssignmentKind, type Lead, LeadState } from "../../gen/leadpool/v1/lead_pb";
import { useAsync } from "../../hooks/useAsync";
import { useEventStream, usePoll } from "../../hooks/useLive";
import { Done } from "../../components/States";

const OPEN = new Set([LeadState.CLAIMED, LeadState.ASSIGNED, LeadState.CONTACTED]);

interface MyLeads {
  open: Lead[];
  closed: Lead[];
  deadlines: Map<string, OpenLead>;
}

export function MyLeadsPage() {
  const [done, setDone] = useState<string>();
  const state = useAsync<MyLeads>(async () => {
    const [list, status] = await Promise.all([
      claim.listLeads({ pageSize: 200 }),
      claim.getRepStatus({}),
    ]);
    return {
      open: list.leads.filter((l) => OPEN.has(l.state)),
      closed: list.leads.filter((l) => !OPEN.has(l.state)),
      deadlines: new Map(status.openLeads.map((o) => [o.lead, o])),
    };
  }, []);
  useEventStream(undefined, () => void state.reload());
  usePoll(() => void state.reload(), 30_000);

  const changed = (text: string) => {
    setDone(text);
    void state.reload();
  };

  return (
    <Page title="My leads" intro="Leads you hold: contact each before its deadline, then record how it went.">
      <Done>{done}</Done>
      <Loaded state={state} what="your leads">
        {({ open, closed, deadlines }) => (
          <>
            <Panel title="Open">
              {open.length === 0 ? (
                <Empty>You hold no open lead. Claim one from a pool.</Empty>
              ) : (
                <div className="cards">
                  {open.map((lead) => (
                    <LeadCard key={lead.name} lead={lead} deadline={deadlines.get(lead.name)} onChanged={changed} />
                  ))}
                </div>
              )}
            </Panel>
            <Panel title="Closed and returned">
              {closed.length === 0 ? (
                <Empty>Nothing closed yet.</Empty>
              ) : (
                <div className="cards">
                  {closed.map((lead) => (
                    <LeadCard key={lead.name} lead={lead} onChanged={changed} />
                  ))}
                </div>
              )}
            </Panel>
          </>
        )}
      </Loaded>
    </Page>
  );
}

function assignmentWords(lead: Lead): string | undefined {
  switch (lead.assignment) {
    case AssignmentKind.AUTO:
      return "auto-assigned to you";
    case AssignmentKind.FORCED:
      return "assigned to you (no choice)";
    case AssignmentKind.MANUAL:
      return "assigned to you by a manager";
    default:
      return undefined;
  }
}

function LeadCard({ lead, deadline, onChanged }: { lead: Lead; deadline?: OpenLead; onChanged: (text: string) => void }) {
  const label = leadLabel(lead);
  const headingId = `lead-${idOf(lead.name)}`;
  const c = lead.contact;
  const how = assignmentWords(lead);
  return (
    <article className="card" aria-labelledby={headingId}>
      <h3 id={headingId} className="card-title">
        {label}
      </h3>
      <p>
        <span className={`badge state-${stateLabel(lead.state)}`}>{stateLabel(lead.state)}</span>
        {lead.outcome ? <span className="badge"> {outcomeLabel(lead.outcome)}</span> : null}
        {" "}in {idOf(lead.pool) || "no pool"} · score {lead.score}
        {how && ` · ${how}`}
        {lead.rejectable && " · you may turn it down"}
      </p>
      {OPEN.has(lead.state) && (
        <p>
          <ContactCountdown
            due={deadline?.contactDueTime ?? lead.contactDueTime}
            warning={deadline?.warningTime}
            dueSoon={deadline?.dueSoon}
          />
        </p>
      )}
      {c && (c.email || c.phone || c.company) && (
        <dl className="contact">
          {c.name && (
            <>
              <dt>Name</dt>
              <dd>{c.name}</dd>
            </>
          )}
          {c.email && (
            <>
              <dt>Email</dt>
              <dd>
                <a href={`mailto:${c.email}`}>{c.email}</a>
              </dd>
            </>
          )}
          {c.phone && (
            <>
              <dt>Phone</dt>
              <dd>
                <a href={`tel:${c.phone}`}>{c.phone}</a>
              </dd>
            </>
          )}
          {c.company && (
            <>
              <dt>Company</dt>
              <dd>{c.company}</dd>
            </>
          )}
        </dl>
      )}
      <p className="muted small">
        {lead.claimTime && `Claimed ${dateTime(lead.claimTime)}. `}
        {lead.contactTime && `Contacted ${dateTime(lead.contactTime)}. `}
        {lead.dealSizeMinor > 0n && `Deal size ${money(lead.dealSizeMinor)}.`}
      </p>
      <LeadActions lead={lead} label={label} onChanged={onChanged} />
    </article>
  );
}
