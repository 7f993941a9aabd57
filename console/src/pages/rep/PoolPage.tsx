// One pool, live: its available leads by priority, age or score; claim one, the next, or a
// batch. Kept current by the event stream (her own claims) and a one-second refresh (a rep's
// stream carries only events naming her, so another rep's claim shows through the refresh).
import { useCallback, useState } from "react";
import { claim, routing } from "../../api/clients";
import { RefusalMessage } from "../../components/Refusal";
import { Page, Panel } from "../../components/Page";
import { Done, Empty, LoadError, Loading } from "../../components/States";
import { clockTime, leadLabel, span } from "../../format";
import { LeadOrder } from "../../gen/leadpool/v1/claim_service_pb";
import type { Lead } from "../../gen/leadpool/v1/lead_pb";
import { useAction } from "../../hooks/useAction";
import { useAsync, useNow } from "../../hooks/useAsync";
import { useEventStream, usePoll } from "../../hooks/useLive";
import { Link } from "../../router";
import { timestampDate } from "@bufbuild/protobuf/wkt";

const ORDERS: { value: LeadOrder; label: string }[] = [
  { value: LeadOrder.PRIORITY, label: "Priority" },
  { value: LeadOrder.AGE, label: "Age" },
  { value: LeadOrder.SCORE, label: "Score" },
];

/** The pool view follows the pool's events live (WatchEvents with the pool: every lead
 * entering or leaving it); this slow poll only catches what a dropped stream missed (ms). */
const REFRESH_MS = 30_000;

export function PoolPage({ poolId }: { poolId: string }) {
  const poolName = `pools/${poolId}`;
  const [order, setOrder] = useState(LeadOrder.PRIORITY);
  const [updated, setUpdated] = useState<Date>();
  const pool = useAsync(() => routing.getPool({ name: poolName }), [poolName]);
  const leads = useAsync(async () => {
    const answer = await claim.listPoolLeads({ parent: poolName, orderBy: order, pageSize: 200 });
    setUpdated(new Date());
    return answer.leads;
  }, [poolName, order]);

  const refresh = leads.reload;
  const stream = useEventStream(poolName, refresh);
  usePoll(refresh, REFRESH_MS, !leads.error);

  const [done, setDone] = useState<{ text: string; leads: Lead[] }>();
  const onClaimed = useCallback(
    (claimed: Lead[]) => {
      setDone({
        text:
          claimed.length === 1
            ? `You claimed ${leadLabel(claimed[0])}.`
            : `You claimed ${claimed.length} leads.`,
        leads: claimed,
      });
      void refresh();
    },
    [refresh],
  );
  const claimOne = useAction(async (lead: Lead) => onClaimed([(await claim.claimLead({ name: lead.name })).lead!]));
  const claimNext = useAction(async () => onClaimed([(await claim.claimNext({ pool: poolName })).lead!]));
  const claimBatch = useAction(async (count: number) => onClaimed((await claim.claimBatch({ pool: poolName, count })).leads));
  const refusal = claimOne.refusal ?? claimNext.refusal ?? claimBatch.refusal;
  const clearRefusal = () => {
    claimOne.clear();
    claimNext.clear();
    claimBatch.clear();
  };
  const pending = claimOne.pending || claimNext.pending || claimBatch.pending;
  const run = (action: () => Promise<unknown>) => {
    setDone(undefined);
    clearRefusal();
    void action();
  };

  const title = pool.data?.pool?.displayName || poolId;
  return (
    <Page title={`Pool: ${title}`}>
      <p>
        <Link to="/pools">← All my pools</Link>
      </p>
      <Panel title="Claim">
        <div className="toolbar">
          <button type="button" disabled={pending} onClick={() => run(() => claimNext.run())}>
            Claim next
          </button>
          <BatchClaim pending={pending} onClaim={(n) => run(() => claimBatch.run(n))} />
        </div>
        <RefusalMessage refusal={refusal} onDismiss={clearRefusal} />
        {done && (
          <Done>
            {done.text} <Link to="/leads">See it in My leads</Link>
          </Done>
        )}
      </Panel>
      <Panel
        title="Available leads"
        actions={
          <label className="inline">
            Sort by{" "}
            <select value={order} onChange={(e) => setOrder(Number(e.target.value) as LeadOrder)}>
              {ORDERS.map((o) => (
                <option key={o.value} value={o.value}>
                  {o.label}
                </option>
              ))}
            </select>
          </label>
        }
      >
        <p className="muted small">
          {stream === "live" ? "Live" : "Reconnecting to live updates…"}
          {updated && ` · updated ${updated.toLocaleTimeString("en-GB")}`}
        </p>
        {leads.error ? (
          <LoadError error={leads.error} retry={leads.reload} />
        ) : !leads.data ? (
          <Loading what="the pool's leads" />
        ) : leads.data.length === 0 ? (
          <Empty>No lead is waiting in this pool right now. New ones appear here as they arrive.</Empty>
        ) : (
          <PoolLeadTable leads={leads.data} pending={pending} onClaim={(lead) => run(() => claimOne.run(lead))} />
        )}
      </Panel>
    </Page>
  );
}

function BatchClaim({ pending, onClaim }: { pending: boolean; onClaim: (count: number) => void }) {
  const [count, setCount] = useState(3);
  return (
    <form
      className="inline-form"
      onSubmit={(e) => {
        e.preventDefault();
        onClaim(count);
      }}
    >
      <label>
        How many{" "}
        <input
          type="number"
          min={1}
          max={50}
          value={count}
          onChange={(e) => setCount(Math.max(1, Number(e.target.value) || 1))}
          className="narrow"
        />
      </label>
      <button type="submit" disabled={pending}>
        Claim batch
      </button>
    </form>
  );
}

function PoolLeadTable({ leads, pending, onClaim }: { leads: Lead[]; pending: boolean; onClaim: (lead: Lead) => void }) {
  const now = useNow(30_000);
  return (
    <div className="table-scroll">
      <table>
        <caption className="visually-hidden">Available leads</caption>
        <thead>
          <tr>
            <th scope="col">Lead</th>
            <th scope="col">Score</th>
            <th scope="col">Priority</th>
            <th scope="col">In pool for</th>
            <th scope="col">Source</th>
            <th scope="col">Region</th>
            <th scope="col">
              <span className="visually-hidden">Action</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {leads.map((lead) => {
            const label = leadLabel(lead);
            const entered = lead.poolEntryTime ? timestampDate(lead.poolEntryTime) : undefined;
            return (
              <tr key={lead.name}>
                <th scope="row">
                  {label}
                  {lead.contact?.company && lead.contact.company !== label && (
                    <span className="muted small"> · {lead.contact.company}</span>
                  )}
                </th>
                <td>{lead.score}</td>
                <td>{lead.priority}</td>
                <td title={entered ? `since ${clockTime(entered)}` : undefined}>{entered ? span(now - entered.getTime()) : "—"}</td>
                <td>{lead.source || "—"}</td>
                <td>{lead.region || "—"}</td>
                <td>
                  <button type="button" disabled={pending} onClick={() => onClaim(lead)} aria-label={`Claim ${label}`}>
                    Claim
                  </button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <p className="muted small">{leads.length === 1 ? "1 lead" : `${leads.length} leads`} waiting</p>
    </div>
  );
}
