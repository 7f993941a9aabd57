// "My limits" (GetRepStatus): each limit used and remaining and when it frees up, the
// cooldown, her acceptance rate, whether she is away, and per pool whether she can claim now.
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { claim } from "../../api/clients";
import { Page, Panel } from "../../components/Page";
import { Empty, Loaded } from "../../components/States";
import { clockTime, dateTime, durationText, idOf } from "../../format";
import type { GetRepStatusResponse, LimitUsage } from "../../gen/leadpool/v1/claim_service_pb";
import { AvailabilityStatus, type RepAvailability } from "../../gen/leadpool/v1/pool_pb";
import { useAsync } from "../../hooks/useAsync";
import { usePoll } from "../../hooks/useLive";

export function LimitsPage() {
  const state = useAsync(() => claim.getRepStatus({}), []);
  usePoll(() => void state.reload(), 15_000);
  return (
    <Page title="My limits" intro="How many claims you have left, and when more free up.">
      <Loaded state={state} what="your limits">
        {(status) => <RepStatusPanels status={status} />}
      </Loaded>
    </Page>
  );
}

export function availabilityText(a: RepAvailability | undefined): string {
  if (!a || a.status === AvailabilityStatus.AVAILABLE || a.status === AvailabilityStatus.UNSPECIFIED) return "Available";
  const what = a.status === AvailabilityStatus.BUSY ? "Busy" : "Out of office";
  const until = a.untilTime ? ` until ${dateTime(a.untilTime)}` : "";
  const note = a.note ? ` (${a.note})` : "";
  return `${what}${until}${note}`;
}

function freesUp(limit: LimitUsage): string {
  if (!limit.resetTime) return limit.window ? "nothing counted yet" : "as you work leads";
  const at = timestampDate(limit.resetTime);
  return limit.remaining > 0 ? `next at ${clockTime(at)}` : `one more at ${clockTime(at)}`;
}

function RepStatusPanels({ status }: { status: GetRepStatusResponse }) {
  return (
    <>
      {status.limitsFromHistory && (
        <p role="status" className="warning">
          Claiming is paused: Leadpool cannot reach its limit store. The figures below come from your lead history.
        </p>
      )}
      <Panel title="Claim limits">
        {status.limits.length === 0 ? (
          <Empty>No limit applies to you.</Empty>
        ) : (
          <div className="table-scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">Limit</th>
                  <th scope="col">Used</th>
                  <th scope="col">Left</th>
                  <th scope="col">Frees up</th>
                </tr>
              </thead>
              <tbody>
                {status.limits.map((limit) => (
                  <tr key={`${limit.limit}-${limit.pool}`} className={limit.remaining === 0 ? "exhausted" : undefined}>
                    <th scope="row">
                      {limit.description}
                      {limit.pool && ` (pool ${idOf(limit.pool)})`}
                      {limit.window && <span className="muted small"> · per {durationText(limit.window)}</span>}
                    </th>
                    <td>
                      {limit.used} of {limit.max}
                    </td>
                    <td>{limit.remaining}</td>
                    <td>{freesUp(limit)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {status.cooldown && (
          <p>
            Cooldown: a pause of {durationText(status.cooldown.pause)} after {status.cooldown.afterClaims} claims in a row;{" "}
            {status.cooldown.claimsInRun} in this run.
            {status.cooldown.endTime && <strong> Cooling down until {clockTime(timestampDate(status.cooldown.endTime))}.</strong>}
          </p>
        )}
      </Panel>
      <Panel title="Availability and acceptance">
        <p>You are: {availabilityText(status.availability)}.</p>
        {status.acceptance ? (
          <p className={status.acceptance.belowMinimum ? "warning" : undefined}>
            You accepted {status.acceptance.accepted} of {status.acceptance.decided} assignments in the last{" "}
            {durationText(status.acceptance.window)} (minimum {status.acceptance.minimumPercent}%).
            {status.acceptance.belowMinimum &&
              (status.acceptance.consequence === "lose-pool-access"
                ? " You are below it: you cannot claim from pools until you accept more."
                : " You are below it.")}
          </p>
        ) : (
          <p className="muted">The policy sets no minimum acceptance.</p>
        )}
      </Panel>
      <Panel title="Pools right now">
        {status.pools.length === 0 ? (
          <Empty>The policy has no pools.</Empty>
        ) : (
          <ul className="plain">
            {status.pools.map((p) => (
              <li key={p.pool}>
                <strong>{idOf(p.pool)}</strong>: {p.claimable ? "you can claim" : "not now"}
                {p.reasons.length > 0 && ` — ${p.reasons.join("; ")}`}
                {p.ratio && (
                  <span className="muted">
                    {" "}
                    · ratio: {p.ratio.made} of {p.ratio.required} worked claims from {p.ratio.fromPools.map(idOf).join(", ")}
                    {p.ratio.pending > 0 && ` (${p.ratio.pending} pending)`}
                  </span>
                )}
                {p.rotation && (
                  <span className="muted">
                    {" "}
                    · first look: {idOf(p.rotation.holder)} until {dateTime(p.rotation.windowEndTime)}
                    {p.rotation.nextWindowStartTime && `, yours from ${dateTime(p.rotation.nextWindowStartTime)}`}
                  </span>
                )}
              </li>
            ))}
          </ul>
        )}
      </Panel>
    </>
  );
}
