// Pool health (SchedulerService): every pool at a glance (ListPoolHealth), one pool in detail
// (GetPoolHealth: depth and thresholds, depletion by day, age mix, when reps claim, how fast,
// the time-to-empty forecast, sizing), conversion by pool, and alerts live (WatchAlerts).
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { useMemo, useState } from "react";
import { scheduler } from "../../api/clients";
import { Chart } from "../../components/Chart";
import { Figures } from "../../components/Figures";
import { Page, Panel } from "../../components/Page";
import { Empty, Loaded } from "../../components/States";
import { count, dateTime, durationText, idOf, money, percent } from "../../format";
import {
  type Alert,
  AlertSeverity,
  DepthLevel,
  type PoolHealth,
} from "../../gen/leadpool/v1/scheduler_service_pb";
import { useAsync } from "../../hooks/useAsync";
import { useAlertStream, usePoll } from "../../hooks/useLive";
import { navigate, useSearchParam } from "../../router";
import {
  agesOption,
  claimHeatOption,
  conversionOption,
  depletionOption,
  depthOption,
  forecastOption,
  slotOption,
} from "./healthCharts";

const TIME_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
/** How many days back the depletion chart goes. */
const DEPLETION_DAYS = 14;

async function listAllPoolHealth(): Promise<PoolHealth[]> {
  const pools: PoolHealth[] = [];
  let pageToken = "";
  do {
    const page = await scheduler.listPoolHealth({ pageSize: 500, pageToken });
    pools.push(...page.pools);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return pools;
}

export function levelText(level: DepthLevel): string {
  return level === DepthLevel.CRITICAL ? "critical" : level === DepthLevel.WARNING ? "warning" : "ok";
}

export function HealthPage() {
  const overview = useAsync(listAllPoolHealth, []);
  usePoll(() => void overview.reload(), 60_000);
  const requested = useSearchParam("pool");
  const selected = requested ?? (overview.data?.[0] ? idOf(overview.data[0].pool) : undefined);
  const show = (pool: string) => navigate(`/health?pool=${encodeURIComponent(idOf(pool))}`);

  return (
    <Page title="Pool health" intro={`Are the pools flowing? Times are in ${TIME_ZONE}.`}>
      <AlertsPanel onShow={show} />
      <Panel title="Pools at a glance">
        <Loaded state={overview} what="pool health">
          {(pools) => (pools.length === 0 ? <Empty>No pool is in force yet.</Empty> : <PoolsTable pools={pools} selected={selected} onShow={show} />)}
        </Loaded>
      </Panel>
      {selected && <PoolDetail key={selected} poolId={selected} />}
      <Panel title="Are pool types claimed fast enough?">
        <TypeVelocity />
      </Panel>
      <Panel title="Which pools convert?">
        <Loaded state={overview} what="conversion">
          {(pools) => <ConversionByPool pools={pools} />}
        </Loaded>
      </Panel>
    </Page>
  );
}

function PoolsTable({ pools, selected, onShow }: { pools: PoolHealth[]; selected?: string; onShow: (pool: string) => void }) {
  return (
    <div className="table-scroll">
      <table>
        <thead>
          <tr>
            <th scope="col">Pool</th>
            <th scope="col">Depth</th>
            <th scope="col">Thresholds</th>
            <th scope="col">Last 24 h</th>
            <th scope="col">Forecast</th>
            <th scope="col">Alerts</th>
          </tr>
        </thead>
        <tbody>
          {pools.map((p) => (
            <tr key={p.pool} aria-current={idOf(p.pool) === selected ? "true" : undefined}>
              <th scope="row">
                <button type="button" className="link-button" onClick={() => onShow(p.pool)} aria-label={`Show pool ${idOf(p.pool)}`}>
                  {idOf(p.pool)}
                </button>
                <span className="muted small"> {p.kind}</span>
              </th>
              <td>
                <span className={`badge level-${levelText(p.level)}`}>{count(p.depth)}</span>
              </td>
              <td>
                {count(p.warningThreshold)} / {count(p.criticalThreshold)}
              </td>
              <td>
                {count(p.depletion?.claims ?? 0n)} claimed, {count(p.depletion?.newLeads ?? 0n)} new
              </td>
              <td>{p.forecast?.summary || "—"}</td>
              <td>{alertCount(p.alerts)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function PoolDetail({ poolId }: { poolId: string }) {
  const state = useAsync(
    () => scheduler.getPoolHealth({ name: `pools/${poolId}`, timeZone: TIME_ZONE, depletionDays: DEPLETION_DAYS }),
    [poolId],
  );
  usePoll(() => void state.reload(), 60_000);
  return (
    <Loaded state={state} what={`the health of ${poolId}`}>
      {(h) => <PoolPanels h={h} />}
    </Loaded>
  );
}

function PoolPanels({ h }: { h: PoolHealth }) {
  const pool = idOf(h.pool);
  const options = useMemo(
    () => ({
      depth: depthOption(h),
      depletion: depletionOption(h),
      ages: agesOption(h),
      heat: claimHeatOption(h),
      slots: slotOption(h),
      forecast: forecastOption(h),
    }),
    [h],
  );
  const v = h.velocity;
  const a = h.ages;
  const d = h.depletion;
  const f = h.forecast;
  const s = h.sizing;
  const claims7d = Number(v?.claims ?? 0n);
  return (
    <>
      <p className="muted">
        Pool <strong>{pool}</strong> ({h.kind}) as of {dateTime(h.asOf)}.
      </p>
      <div className="grid-2">
        <Panel title={`How many leads wait in ${pool}?`}>
          <Chart option={options.depth} label={`Depth of ${pool}`} summary={`${h.depth} available, warning at ${h.warningThreshold}, critical at ${h.criticalThreshold}`} />
          <Figures
            label={`${pool} depth`}
            rows={[
              ["Available leads", count(h.depth)],
              ["Level", levelText(h.level)],
              ["Warning threshold", count(h.warningThreshold)],
              ["Critical threshold", count(h.criticalThreshold)],
              ["Scheduled", count(h.scheduled)],
              ["Escalated", count(h.escalated)],
              ["Paused sources", h.pausedSources.length ? h.pausedSources.join(", ") : "none"],
            ]}
          />
        </Panel>
        <Panel title={`Is ${pool} draining faster than it fills?`}>
          {h.depletionByDay.length === 0 ? (
            <Empty>No whole day of history yet.</Empty>
          ) : (
            <Chart option={options.depletion} label={`Depletion of ${pool} by day`} summary="claims and new leads per day, and their ratio" />
          )}
          <Figures
            label={`${pool} depletion`}
            rows={[
              ["Claims, last 24 h", count(d?.claims ?? 0n)],
              ["New leads, last 24 h", count(d?.newLeads ?? 0n)],
              ["Depletion rate, last 24 h", d?.rate === undefined ? "— (nothing new)" : d.rate.toFixed(2)],
              ["New leads, last 7 days", count(h.newLast7Days)],
              ...(h.segmentSharePercent !== undefined ? ([["Share of segmented pools' new leads", percent(h.segmentSharePercent, 1)]] as [string, string][]) : []),
            ]}
          />
        </Panel>
        <Panel title={`How long have ${pool}'s leads waited?`}>
          {Number(h.depth) === 0 ? (
            <Empty>No lead is waiting, so there is no age mix.</Empty>
          ) : (
            <Chart option={options.ages} label={`Age mix of ${pool}`} summary={`${percent(a?.under12hPercent)} under 12 h, ${percent(a?.over24hPercent)} over 24 h`} />
          )}
          <Figures
            label={`${pool} ages`}
            rows={[
              ["Under 12 h", `${count(a?.under12h ?? 0n)} (${percent(a?.under12hPercent)})`],
              ["12–24 h", `${count(a?.from12hTo24h ?? 0n)} (${percent(a?.from12hTo24hPercent)})`],
              ["Over 24 h", `${count(a?.over24h ?? 0n)} (${percent(a?.over24hPercent)})`],
              ["Healthy mix", a?.healthy ? "yes" : "no"],
            ]}
          />
        </Panel>
        <Panel title={`When do reps claim from ${pool}?`}>
          {claims7d === 0 ? (
            <Empty>No claims in the last 7 days.</Empty>
          ) : (
            <Chart option={options.heat} label={`Claims from ${pool} by hour and weekday`} summary={`${claims7d} claims in 7 days`} tall />
          )}
          <p className="muted small">Claims over the last 7 days, by weekday and local hour.</p>
        </Panel>
        <Panel title={`How fast are ${pool}'s leads claimed?`}>
          {claims7d === 0 ? (
            <Empty>No claims in the last 7 days.</Empty>
          ) : (
            <Chart option={options.slots} label={`Time to claim by hour for ${pool}`} summary={`median ${durationText(v?.median)}, target ${durationText(v?.target)}`} />
          )}
          <Figures
            label={`${pool} claim speed`}
            rows={[
              ["Claims, last 7 days", count(claims7d)],
              ["Mean time to claim", durationText(v?.mean)],
              ["Median time to claim", durationText(v?.median)],
              ["90th percentile", durationText(v?.p90)],
              ["Target", durationText(v?.target)],
              ["Within target", percent(v?.withinTargetPercent, 1)],
            ]}
          />
        </Panel>
        <Panel title={`When will ${pool} run empty?`}>
          <Chart option={options.forecast} label={`Forecast for ${pool}`} summary={f?.summary || "no forecast"} />
          <Figures
            label={`${pool} forecast`}
            rows={[
              ["Forecast", f?.summary || "—"],
              ["Empty at", f?.emptyTime ? dateTime(f.emptyTime) : "never (it does not drain)"],
              ["Critical at", f?.criticalTime ? dateTime(f.criticalTime) : "—"],
              ["Claims per hour", (f?.claimsPerHour ?? 0).toFixed(2)],
              ["New leads per hour", (f?.newLeadsPerHour ?? 0).toFixed(2)],
              ["Over", durationText(f?.window)],
            ]}
          />
        </Panel>
        <Panel title={`Is ${pool} the right size?`}>
          <Figures
            label={`${pool} sizing`}
            rows={[
              ["Daily claim capacity", (s?.dailyClaimCapacity ?? 0).toFixed(1)],
              ["Healthy depth", `${count(s?.healthyMin ?? 0n)}–${count(s?.healthyMax ?? 0n)}`],
              ["Below under", count(s?.belowUnder ?? 0n)],
              ["Mean depth, 7 days", s?.averageDepth7d === undefined ? "no snapshots yet" : s.averageDepth7d.toFixed(1)],
              ["Recommendation", s?.recommendation || "—"],
            ]}
          />
        </Panel>
      </div>
    </>
  );
}

/** M3 per pool type: all pools of a type together against the type's target. */
function TypeVelocity() {
  const state = useAsync(() => scheduler.listPoolTypeVelocity({}), []);
  usePoll(() => void state.reload(), 60_000);
  return (
    <Loaded state={state} what="claim speed by pool type">
      {({ types }) =>
        types.length === 0 ? (
          <Empty>No pool is in force yet.</Empty>
        ) : (
          <div className="table-scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">Pool type</th>
                  <th scope="col">Pools</th>
                  <th scope="col">Claims (7 d)</th>
                  <th scope="col">Median to claim</th>
                  <th scope="col">Target</th>
                  <th scope="col">Within target</th>
                </tr>
              </thead>
              <tbody>
                {types.map((t) => (
                  <tr key={t.kind}>
                    <th scope="row">{t.kind}</th>
                    <td>{t.pools.map(idOf).join(", ")}</td>
                    <td>{count(t.velocity?.claims ?? 0n)}</td>
                    <td>
                      {durationText(t.velocity?.median)}{" "}
                      {Number(t.velocity?.claims ?? 0n) > 0 && (
                        <span className={`badge level-${t.meetsTarget ? "ok" : "critical"}`}>{t.meetsTarget ? "met" : "missed"}</span>
                      )}
                    </td>
                    <td>{durationText(t.velocity?.target)}</td>
                    <td>{percent(t.velocity?.withinTargetPercent, 1)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )
      }
    </Loaded>
  );
}

function ConversionByPool({ pools }: { pools: PoolHealth[] }) {
  const option = useMemo(() => conversionOption(pools), [pools]);
  const anyLeads = pools.some((p) => Number(p.conversion?.leads ?? 0n) > 0);
  return (
    <>
      {anyLeads ? (
        <Chart option={option} label="Conversion by pool" summary="opportunity and customer share of each pool's leads over 30 days" />
      ) : (
        <Empty>No lead entered a pool in the last 30 days.</Empty>
      )}
      <div className="table-scroll">
        <table>
          <thead>
            <tr>
              <th scope="col">Pool</th>
              <th scope="col">Leads (30 d)</th>
              <th scope="col">Opportunities</th>
              <th scope="col">Customers</th>
              <th scope="col">Lost</th>
              <th scope="col">Mean deal</th>
              <th scope="col">Sales cycle</th>
            </tr>
          </thead>
          <tbody>
            {pools.map((p) => {
              const c = p.conversion;
              return (
                <tr key={p.pool}>
                  <th scope="row">{idOf(p.pool)}</th>
                  <td>{count(c?.leads ?? 0n)}</td>
                  <td>
                    {count(c?.opportunities ?? 0n)} ({percent(c?.opportunityPercent, 1)})
                  </td>
                  <td>
                    {count(c?.customers ?? 0n)} ({percent(c?.customerPercent, 1)})
                  </td>
                  <td>{count(c?.lost ?? 0n)}</td>
                  <td>{c && c.averageDealSizeMinor > 0n ? money(c.averageDealSizeMinor) : "—"}</td>
                  <td>{durationText(c?.averageCycle)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </>
  );
}

function AlertsPanel({ onShow }: { onShow: (pool: string) => void }) {
  const [alerts, setAlerts] = useState<Map<string, Alert>>(new Map());
  const stream = useAlertStream(
    undefined,
    (event) =>
      setAlerts((current) => {
        const next = new Map(current);
        if (!event.alert) return current;
        if (event.resolved) next.delete(event.alert.name);
        else next.set(event.alert.name, event.alert);
        return next;
      }),
    () => setAlerts(new Map()),
  );
  const list = [...alerts.values()].sort((a, b) => b.severity - a.severity || a.name.localeCompare(b.name));
  const urgent = list.filter((a) => a.severity !== AlertSeverity.INFO);
  const info = list.filter((a) => a.severity === AlertSeverity.INFO);
  return (
    <Panel title="Alerts firing now">
      <p className="muted small">{stream === "live" ? "Live" : stream === "connecting" ? "Connecting…" : "Reconnecting…"}</p>
      {list.length === 0 ? (
        <Empty>No alert is firing.</Empty>
      ) : (
        <>
          {urgent.length === 0 ? (
            <p className="ok">No warning or critical alert.</p>
          ) : (
            <AlertList alerts={urgent} label="Warnings and critical alerts" onShow={onShow} />
          )}
          {info.length > 0 && (
            <details>
              <summary>{info.length === 1 ? "1 informational alert" : `${info.length} informational alerts`}</summary>
              <AlertList alerts={info} label="Informational alerts" onShow={onShow} />
            </details>
          )}
        </>
      )}
    </Panel>
  );
}

function AlertList({ alerts, label, onShow }: { alerts: Alert[]; label: string; onShow: (pool: string) => void }) {
  return (
    <ul className="alerts" aria-label={label}>
      {alerts.map((a) => {
        const pool = a.name.startsWith("pools/") ? a.name.split("/alerts/")[0] : undefined;
        return (
          <li key={a.name} className={`alert severity-${severityText(a.severity)}`}>
            <strong>{severityText(a.severity)}</strong> {a.summary}{" "}
            <span className="muted small">since {a.since ? timestampDate(a.since).toLocaleString("en-GB") : "—"}</span>{" "}
            {pool ? (
              <button type="button" className="link-button" onClick={() => onShow(pool)} aria-label={`Show pool ${idOf(pool)}`}>
                pool {idOf(pool)}
              </button>
            ) : (
              <span>{a.name.split("/alerts/")[0]}</span>
            )}
          </li>
        );
      })}
    </ul>
  );
}

function alertCount(alerts: Alert[]): string {
  if (alerts.length === 0) return "none";
  const worst: AlertSeverity = Math.max(...alerts.map((a) => a.severity));
  return `${alerts.length} (${severityText(worst)})`;
}

function severityText(s: AlertSeverity): string {
  return s === AlertSeverity.CRITICAL ? "critical" : s === AlertSeverity.WARNING ? "warning" : "info";
}
