// Her team: who is available (SetRepAvailability), the leads they hold (ReturnLead), and moving
// a rep's leads to a colleague or back to the pools (ReassignLeads, previewed first).
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { create } from "@bufbuild/protobuf";
import { type FormEvent, useState } from "react";
import { claim, routing } from "../../api/clients";
import type { Identity } from "../../auth/identity";
import { reasonInWords } from "../../api/refusal";
import { ContactCountdown } from "../../components/Countdown";
import { Page, Panel } from "../../components/Page";
import { RefusalMessage } from "../../components/Refusal";
import { Done, Empty, Loaded } from "../../components/States";
import { idOf, leadLabel, stateLabel } from "../../format";
import type { ReassignLeadsResponse } from "../../gen/leadpool/v1/claim_service_pb";
import { type Lead, LeadState } from "../../gen/leadpool/v1/lead_pb";
import { type Rep, RepRole } from "../../gen/leadpool/v1/pool_pb";
import { AvailableSchema, BusySchema, OutOfOfficeSchema } from "../../gen/leadpool/v1/routing_service_pb";
import { useAction } from "../../hooks/useAction";
import { useAsync } from "../../hooks/useAsync";
import { repLabel, useTeam } from "../../hooks/useTeam";
import { availabilityText } from "../rep/LimitsPage";

const HELD = [LeadState.CLAIMED, LeadState.ASSIGNED, LeadState.CONTACTED];

export function TeamPage({ identity }: { identity: Identity }) {
  const team = useTeam(identity);
  const leads = useAsync(async () => (await claim.listLeads({ states: HELD, pageSize: 500 })).leads, []);
  const [done, setDone] = useState<string>();
  const changed = (text: string) => {
    setDone(text);
    void team.reload();
    void leads.reload();
  };
  return (
    <Page title="Team" intro={identity.isAdmin ? "Every rep and the leads they hold." : "Your team's reps and the leads they hold."}>
      <Done>{done}</Done>
      <Panel title="Who is available">
        <Loaded state={team} what="your team">
          {({ reps }) =>
            reps.length === 0 ? (
              <Empty>No reps in your teams.</Empty>
            ) : (
              <ul className="cards" aria-label="Reps">
                {reps.map((rep) => (
                  <RepAvailabilityCard key={rep.name} rep={rep} onChanged={changed} />
                ))}
              </ul>
            )
          }
        </Loaded>
      </Panel>
      <Panel title="Leads they hold">
        <Loaded state={leads} what="your team's leads">
          {(held) => (held.length === 0 ? <Empty>Nobody in your teams holds a lead right now.</Empty> : <HeldLeads leads={held} onChanged={changed} />)}
        </Loaded>
      </Panel>
      <Panel title="Move a rep's leads">
        {team.data ? <ReassignForm reps={team.data.reps} leads={leads.data ?? []} onChanged={changed} /> : <p className="muted">Loading your team…</p>}
      </Panel>
    </Page>
  );
}

function RepAvailabilityCard({ rep, onChanged }: { rep: Rep; onChanged: (text: string) => void }) {
  const label = repLabel(rep);
  const [open, setOpen] = useState(false);
  const [kind, setKind] = useState<"out" | "busy">("out");
  const [from, setFrom] = useState("");
  const [until, setUntil] = useState("");
  const [note, setNote] = useState("");
  const set = useAction(async (change: "away" | "available") => {
    if (change === "available") {
      await routing.setRepAvailability({ rep: rep.name, availability: { case: "available", value: create(AvailableSchema) } });
      onChanged(`${label} is available again.`);
      return;
    }
    const untilTime = until ? timestampFromDate(new Date(until)) : undefined;
    if (kind === "busy") {
      await routing.setRepAvailability({ rep: rep.name, availability: { case: "busy", value: create(BusySchema, { untilTime, note }) } });
    } else {
      const fromTime = from ? timestampFromDate(new Date(from)) : undefined;
      await routing.setRepAvailability({
        rep: rep.name,
        availability: { case: "outOfOffice", value: create(OutOfOfficeSchema, { fromTime, untilTime, note }) },
      });
    }
    setOpen(false);
    onChanged(`${label} is marked ${kind === "busy" ? "busy" : "out of office"}.`);
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void set.run("away");
  };
  const id = `rep-${idOf(rep.name)}`;
  return (
    <li className="card" aria-labelledby={id}>
      <h3 id={id} className="card-title">
        {label}
      </h3>
      <p className="muted">
        {rep.team || "no team"} · {rep.role === RepRole.MANAGER ? "manager" : rep.role === RepRole.AE ? "AE" : "SDR"}
        {!rep.active && " · inactive"}
      </p>
      <p>{availabilityText(rep.availability)}</p>
      <div className="toolbar">
        <button type="button" aria-expanded={open} onClick={() => setOpen(!open)} aria-label={`Set ${label} away`}>
          Set away
        </button>
        <button type="button" disabled={set.pending} onClick={() => set.run("available")} aria-label={`Mark ${label} available`}>
          Mark available
        </button>
      </div>
      {open && (
        <form className="stack-form" onSubmit={submit}>
          <fieldset>
            <legend>Away as</legend>
            <label>
              <input type="radio" name={`${id}-kind`} checked={kind === "out"} onChange={() => setKind("out")} /> Out of office
            </label>
            <label>
              <input type="radio" name={`${id}-kind`} checked={kind === "busy"} onChange={() => setKind("busy")} /> Busy
            </label>
          </fieldset>
          {kind === "out" && (
            <label>
              From (empty: now) <input type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} />
            </label>
          )}
          <label>
            Until <input type="datetime-local" required value={until} onChange={(e) => setUntil(e.target.value)} />
          </label>
          <label>
            Note <input value={note} maxLength={200} onChange={(e) => setNote(e.target.value)} />
          </label>
          <button type="submit" disabled={set.pending}>
            Save
          </button>
        </form>
      )}
      <RefusalMessage refusal={set.refusal} onDismiss={set.clear} />
    </li>
  );
}

function HeldLeads({ leads, onChanged }: { leads: Lead[]; onChanged: (text: string) => void }) {
  return (
    <ul className="cards" aria-label="Held leads">
      {leads.map((lead) => (
        <HeldLead key={lead.name} lead={lead} onChanged={onChanged} />
      ))}
    </ul>
  );
}

function HeldLead({ lead, onChanged }: { lead: Lead; onChanged: (text: string) => void }) {
  const label = leadLabel(lead);
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState("");
  const ret = useAction(async () => {
    await claim.returnLead({ name: lead.name, reason });
    onChanged(`${label} went back to pool ${idOf(lead.pool)}.`);
  });
  const id = `held-${idOf(lead.name)}`;
  return (
    <li className="card" aria-labelledby={id}>
      <h3 id={id} className="card-title">
        {label}
      </h3>
      <p>
        <span className="badge">{stateLabel(lead.state)}</span> held by {idOf(lead.owner)} · pool {idOf(lead.pool)}
      </p>
      <p>
        <ContactCountdown due={lead.contactDueTime} />
      </p>
      <button type="button" aria-expanded={open} onClick={() => setOpen(!open)} aria-label={`Return ${label} to its pool`}>
        Return to pool
      </button>
      {open && (
        <form
          className="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            void ret.run();
          }}
        >
          <label>
            Why? <input required value={reason} onChange={(e) => setReason(e.target.value)} />
          </label>
          <button type="submit" disabled={ret.pending}>
            Return lead
          </button>
        </form>
      )}
      <RefusalMessage refusal={ret.refusal} onDismiss={ret.clear} />
    </li>
  );
}

const TO_POOLS = "__pools__";

function ReassignForm({ reps, leads, onChanged }: { reps: Rep[]; leads: Lead[]; onChanged: (text: string) => void }) {
  const label = (name: string) => {
    const lead = leads.find((l) => l.name === name);
    return lead ? leadLabel(lead) : `Lead ${idOf(name).slice(0, 8)}`;
  };
  const [from, setFrom] = useState("");
  const [to, setTo] = useState(TO_POOLS);
  const [reason, setReason] = useState("");
  const [preview, setPreview] = useState<ReassignLeadsResponse>();
  const request = (validateOnly: boolean) => ({
    fromRep: from,
    reason,
    validateOnly,
    destination: to === TO_POOLS ? { case: "toPools" as const, value: true } : { case: "toRep" as const, value: to },
  });
  const check = useAction(async () => setPreview(await claim.reassignLeads(request(true))));
  const move = useAction(async () => {
    const answer = await claim.reassignLeads(request(false));
    setPreview(undefined);
    onChanged(`${answer.moved.length} lead(s) moved${answer.refused.length ? `, ${answer.refused.length} refused` : ""}.`);
  });
  const reset = () => setPreview(undefined);
  return (
    <form
      className="stack-form"
      onSubmit={(e) => {
        e.preventDefault();
        void check.run();
      }}
    >
      <label htmlFor="reassign-from">From</label>
      <select
        id="reassign-from"
        required
        value={from}
        onChange={(e) => {
          setFrom(e.target.value);
          reset();
        }}
      >
        <option value="">Choose a rep…</option>
        {reps.map((r) => (
          <option key={r.name} value={r.name}>
            {repLabel(r)}
          </option>
        ))}
      </select>
      <label htmlFor="reassign-to">To</label>
      <select
        id="reassign-to"
        value={to}
        onChange={(e) => {
          setTo(e.target.value);
          reset();
        }}
      >
        <option value={TO_POOLS}>Back to their pools</option>
        {reps
          .filter((r) => r.name !== from)
          .map((r) => (
            <option key={r.name} value={r.name}>
              {repLabel(r)}
            </option>
          ))}
      </select>
      <label>
        Reason <input required value={reason} onChange={(e) => setReason(e.target.value)} />
      </label>
      <button type="submit" disabled={check.pending || !from}>
        Preview
      </button>
      <RefusalMessage refusal={check.refusal ?? move.refusal} />
      {preview && (
        <div className="preview" role="region" aria-label="Reassignment preview">
          {preview.moved.length === 0 && preview.refused.length === 0 && <Empty>This rep holds no open lead.</Empty>}
          {preview.moved.length > 0 && (
            <>
              <h3>Would move</h3>
              <ul>
                {preview.moved.map((m) => (
                  <li key={m.lead}>
                    {label(m.lead)} → {m.to ? idOf(m.to) : "routing"}
                  </li>
                ))}
              </ul>
            </>
          )}
          {preview.refused.length > 0 && (
            <>
              <h3>Would be refused</h3>
              <ul>
                {preview.refused.map((r) => (
                  <li key={r.lead}>
                    {label(r.lead)}: {reasonInWords(r.reason)} {r.message}
                  </li>
                ))}
              </ul>
            </>
          )}
          {preview.moved.length > 0 && (
            <button type="button" disabled={move.pending} onClick={() => move.run()}>
              Move {preview.moved.length} lead(s)
            </button>
          )}
        </div>
      )}
    </form>
  );
}
