// What a rep can do with a lead she holds, as the API allows it in its state: record contact,
// record an outcome (with deal size), release with a reason, accept or reject an assignment.
import { type FormEvent, useState } from "react";
import { claim } from "../api/clients";
import { type Lead, LeadState, Outcome } from "../gen/leadpool/v1/lead_pb";
import { useAction } from "../hooks/useAction";
import { RefusalMessage } from "./Refusal";

type Mode = "contact" | "outcome" | "release" | "reject" | undefined;

export function LeadActions({ lead, label, onChanged }: { lead: Lead; label: string; onChanged: (text: string) => void }) {
  const [mode, setMode] = useState<Mode>();
  const act = useAction(async (work: () => Promise<unknown>, text: string) => {
    await work();
    setMode(undefined);
    onChanged(text);
  });

  const held = lead.state === LeadState.CLAIMED || lead.state === LeadState.CONTACTED;
  const canOutcome = held || (lead.state === LeadState.CLOSED && lead.outcome === Outcome.OPPORTUNITY);
  const buttons: { mode: Mode; text: string; show: boolean }[] = [
    { mode: "contact", text: "Record contact", show: lead.state === LeadState.CLAIMED },
    { mode: "outcome", text: "Record outcome", show: canOutcome },
    { mode: "release", text: "Release", show: held },
    { mode: "reject", text: "Reject", show: lead.rejectable },
  ];

  return (
    <div className="lead-actions">
      <div className="toolbar">
        {lead.state === LeadState.ASSIGNED && (
          <button
            type="button"
            disabled={act.pending}
            onClick={() => act.run(() => claim.acceptAssignment({ name: lead.name }), `You accepted ${label}.`)}
          >
            Accept
          </button>
        )}
        {buttons
          .filter((b) => b.show)
          .map((b) => (
            <button
              key={b.mode}
              type="button"
              aria-expanded={mode === b.mode}
              onClick={() => {
                act.clear();
                setMode(mode === b.mode ? undefined : b.mode);
              }}
            >
              {b.text}
            </button>
          ))}
      </div>
      {mode === "contact" && (
        <TextForm
          label="Note (optional)"
          submit="Save contact"
          required={false}
          pending={act.pending}
          onSubmit={(note) => act.run(() => claim.recordContact({ name: lead.name, note }), `Contact with ${label} recorded.`)}
        />
      )}
      {mode === "release" && (
        <TextForm
          label="Why release it?"
          submit="Release lead"
          pending={act.pending}
          onSubmit={(reason) => act.run(() => claim.releaseLead({ name: lead.name, reason }), `${label} went back to its pool.`)}
        />
      )}
      {mode === "reject" && (
        <TextForm
          label="Why turn it down?"
          submit="Reject assignment"
          pending={act.pending}
          onSubmit={(reason) => act.run(() => claim.rejectAssignment({ name: lead.name, reason }), `You turned down ${label}.`)}
        />
      )}
      {mode === "outcome" && (
        <OutcomeForm
          pending={act.pending}
          onSubmit={(outcome, dealSizeMinor, note) =>
            act.run(
              () => claim.recordOutcome({ name: lead.name, outcome, dealSizeMinor, note }),
              `Outcome for ${label} recorded.`,
            )
          }
        />
      )}
      <RefusalMessage refusal={act.refusal} onDismiss={act.clear} />
    </div>
  );
}

function TextForm({
  label,
  submit,
  pending,
  required = true,
  onSubmit,
}: {
  label: string;
  submit: string;
  pending: boolean;
  required?: boolean;
  onSubmit: (text: string) => void;
}) {
  const [text, setText] = useState("");
  const send = (e: FormEvent) => {
    e.preventDefault();
    onSubmit(text.trim());
  };
  return (
    <form className="inline-form" onSubmit={send}>
      <label>
        {label} <input value={text} required={required} onChange={(e) => setText(e.target.value)} />
      </label>
      <button type="submit" disabled={pending}>
        {submit}
      </button>
    </form>
  );
}

function OutcomeForm({ pending, onSubmit }: { pending: boolean; onSubmit: (o: Outcome, dealSizeMinor: bigint, note: string) => void }) {
  const [outcome, setOutcome] = useState(Outcome.OPPORTUNITY);
  const [deal, setDeal] = useState("");
  const [note, setNote] = useState("");
  const send = (e: FormEvent) => {
    e.preventDefault();
    const minor = BigInt(Math.round((Number(deal) || 0) * 100));
    onSubmit(outcome, minor, note.trim());
  };
  return (
    <form className="inline-form" onSubmit={send}>
      <label>
        Outcome{" "}
        <select value={outcome} onChange={(e) => setOutcome(Number(e.target.value) as Outcome)}>
          <option value={Outcome.OPPORTUNITY}>Opportunity</option>
          <option value={Outcome.CUSTOMER}>Customer (won)</option>
          <option value={Outcome.LOST}>Lost</option>
        </select>
      </label>
      <label>
        Deal size{" "}
        <input type="number" min={0} step="0.01" inputMode="decimal" value={deal} onChange={(e) => setDeal(e.target.value)} className="narrow" />
      </label>
      <label>
        Note <input value={note} onChange={(e) => setNote(e.target.value)} />
      </label>
      <button type="submit" disabled={pending}>
        Save outcome
      </button>
    </form>
  );
}
