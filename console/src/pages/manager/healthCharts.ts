// The chart options of the pool health dashboard, one question each, built from PoolHealth.
import { durationMs, timestampDate } from "@bufbuild/protobuf/wkt";
import { type ChartOption, PALETTE } from "../../components/Chart";
import { idOf } from "../../format";
import type { PoolHealth } from "../../gen/leadpool/v1/scheduler_service_pb";

const AXIS = { nameLocation: "middle" as const, nameGap: 32 };

export const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

function threshold(name: string, value: number, color: string, axis: "xAxis" | "yAxis" = "yAxis") {
  return {
    name,
    [axis]: value,
    lineStyle: { color, type: "dashed" as const, width: 2 },
    label: { formatter: `${name} ${value}`, color, position: "insideEndTop" as const },
  };
}

/** Depth against the warning and critical thresholds. */
export function depthOption(h: PoolHealth): ChartOption {
  const depth = Number(h.depth);
  const warning = Number(h.warningThreshold);
  const critical = Number(h.criticalThreshold);
  const color = depth >= critical ? PALETTE.critical : depth >= warning ? PALETTE.warning : PALETTE.ok;
  return {
    grid: { left: 90, right: 24, top: 24, bottom: 48 },
    xAxis: { type: "value", name: "available leads", ...AXIS, max: Math.ceil(Math.max(depth, critical) * 1.15) || 10 },
    yAxis: { type: "category", data: ["Available", "Scheduled", "Escalated"] },
    series: [
      {
        type: "bar",
        data: [
          { value: depth, itemStyle: { color } },
          { value: Number(h.scheduled), itemStyle: { color: PALETTE.neutral } },
          { value: Number(h.escalated), itemStyle: { color: PALETTE.neutral } },
        ],
        label: { show: true, position: "right" },
        markLine: {
          symbol: "none",
          data: [threshold("warning", warning, PALETTE.warning, "xAxis"), threshold("critical", critical, PALETTE.critical, "xAxis")],
        },
      },
    ],
  };
}

/** Claims and new leads per whole day, oldest first, with the depletion rate. */
export function depletionOption(h: PoolHealth): ChartOption {
  const days = [...h.depletionByDay].reverse();
  const labels = days.map((d) => (d.startTime ? timestampDate(d.startTime).toLocaleDateString("en-GB", { weekday: "short", day: "numeric", month: "short" }) : "?"));
  return {
    legend: { top: 0 },
    grid: { left: 56, right: 56, top: 36, bottom: 40 },
    xAxis: { type: "category", data: labels },
    yAxis: [
      { type: "value", name: "leads per day", ...AXIS, nameGap: 40, minInterval: 1 },
      { type: "value", name: "claims ÷ new", ...AXIS, nameGap: 40, min: 0 },
    ],
    tooltip: { trigger: "axis" },
    series: [
      { name: "Claims", type: "bar", data: days.map((d) => Number(d.claims)), itemStyle: { color: PALETTE.claims } },
      { name: "New leads", type: "bar", data: days.map((d) => Number(d.newLeads)), itemStyle: { color: PALETTE.arrivals } },
      {
        name: "Depletion rate",
        type: "line",
        yAxisIndex: 1,
        data: days.map((d) => (d.rate === undefined ? null : Number(d.rate.toFixed(2)))),
        itemStyle: { color: PALETTE.neutral },
        markLine: { symbol: "none", data: [threshold("balanced", 1, PALETTE.ok)] },
      },
    ],
  };
}

/** Available leads by time in the pool, in percent, against the healthy mix. */
export function agesOption(h: PoolHealth): ChartOption {
  const a = h.ages;
  const values = a ? [a.under12hPercent, a.from12hTo24hPercent, a.over24hPercent] : [0, 0, 0];
  return {
    grid: { left: 56, right: 24, top: 24, bottom: 48 },
    xAxis: { type: "category", data: ["under 12 h", "12–24 h", "over 24 h"], name: "time in pool", ...AXIS },
    yAxis: { type: "value", name: "% of available leads", ...AXIS, nameGap: 40, max: 100 },
    series: [
      {
        type: "bar",
        data: [
          { value: round1(values[0]), itemStyle: { color: values[0] >= 60 ? PALETTE.ok : PALETTE.warning } },
          { value: round1(values[1]), itemStyle: { color: PALETTE.arrivals } },
          { value: round1(values[2]), itemStyle: { color: values[2] < 10 ? PALETTE.ok : PALETTE.critical } },
        ],
        label: { show: true, position: "top", formatter: "{c}%" },
        markLine: {
          symbol: "none",
          data: [threshold("healthy ≥", 60, PALETTE.ok), threshold("aged <", 10, PALETTE.critical)],
        },
      },
    ],
  };
}

/** Claims by weekday × local hour of day (Velocity.by_weekday_hour), as a heat map. */
export function claimHeatOption(h: PoolHealth): ChartOption {
  const cells = h.velocity?.byWeekdayHour ?? [];
  const max = Math.max(1, ...cells.map((c) => Number(c.claims)));
  const hours = Array.from({ length: 24 }, (_, i) => String(i).padStart(2, "0"));
  return {
    grid: { left: 56, right: 16, top: 8, bottom: 72 },
    tooltip: {
      formatter: (p: unknown) => {
        const [hour, day, claims] = (p as { value: number[] }).value;
        return `${WEEKDAYS[day]} ${hours[hour]}:00 — ${claims} claims`;
      },
    },
    xAxis: { type: "category", data: hours, name: "hour of day (local)", ...AXIS, splitArea: { show: true } },
    yAxis: { type: "category", data: WEEKDAYS, inverse: true, splitArea: { show: true } },
    visualMap: { min: 0, max, calculable: false, orient: "horizontal", left: "center", bottom: 0, itemHeight: 120, text: [`${max} claims`, "0 claims"], inRange: { color: ["#f1f5fb", PALETTE.claims] } },
    series: [
      {
        type: "heatmap",
        data: cells.map((c) => [c.hour, c.weekday - 1, Number(c.claims)]),
        label: { show: false },
      },
    ],
  };
}

/** p90 time to claim per hour of day against the pool's target (minutes). */
export function slotOption(h: PoolHealth): ChartOption {
  const target = h.velocity?.target ? durationMs(h.velocity.target) / 60000 : 0;
  const slots = h.velocity?.byHour ?? [];
  return {
    grid: { left: 56, right: 24, top: 24, bottom: 48 },
    xAxis: { type: "category", data: slots.map((s) => String(s.slot).padStart(2, "0")), name: "hour of day (local)", ...AXIS },
    yAxis: { type: "value", name: "minutes to claim (p90)", ...AXIS, nameGap: 40 },
    series: [
      {
        type: "bar",
        data: slots.map((s) => ({
          value: s.p90 ? round1(durationMs(s.p90) / 60000) : null,
          itemStyle: { color: s.meetsTarget ? PALETTE.ok : PALETTE.critical },
        })),
        markLine: target ? { symbol: "none", data: [threshold("target", round1(target), PALETTE.warning)] } : undefined,
      },
    ],
  };
}

/** The straight-line forecast: depth from now at the trailing rates, with thresholds. */
export function forecastOption(h: PoolHealth): ChartOption {
  const f = h.forecast;
  const depth = Number(f?.depth ?? h.depth);
  const net = (f?.newLeadsPerHour ?? 0) - (f?.claimsPerHour ?? 0);
  const emptyIn = f?.emptyTime ? (timestampDate(f.emptyTime).getTime() - Date.now()) / 3_600_000 : undefined;
  const horizon = Math.max(6, Math.min(24 * 7, emptyIn !== undefined ? emptyIn * 1.25 : 48));
  const steps = 24;
  const points = Array.from({ length: steps + 1 }, (_, i) => {
    const hours = (horizon * i) / steps;
    return [round1(hours), Math.max(0, round1(depth + net * hours))];
  });
  return {
    grid: { left: 56, right: 24, top: 24, bottom: 48 },
    xAxis: { type: "value", name: "hours from now", ...AXIS, max: round1(horizon) },
    yAxis: { type: "value", name: "available leads", ...AXIS, nameGap: 40, min: 0, max: Math.ceil(Math.max(depth, Number(h.criticalThreshold)) * 1.15) || 10 },
    tooltip: { trigger: "axis" },
    series: [
      {
        name: "Projected depth",
        type: "line",
        showSymbol: false,
        data: points,
        itemStyle: { color: PALETTE.claims },
        markLine: {
          symbol: "none",
          data: [threshold("warning", Number(h.warningThreshold), PALETTE.warning), threshold("critical", Number(h.criticalThreshold), PALETTE.critical)],
        },
      },
    ],
  };
}

/** Conversion by pool: share of leads that became opportunities and customers. */
export function conversionOption(pools: PoolHealth[]): ChartOption {
  const names = pools.map((p) => idOf(p.pool));
  return {
    legend: { top: 0 },
    grid: { left: 56, right: 24, top: 36, bottom: 64 },
    tooltip: { trigger: "axis" },
    xAxis: { type: "category", data: names, axisLabel: { rotate: names.length > 5 ? 30 : 0 } },
    yAxis: { type: "value", name: "% of leads (30 days)", ...AXIS, nameGap: 40, max: 100 },
    series: [
      { name: "Opportunity", type: "bar", data: pools.map((p) => round1(p.conversion?.opportunityPercent ?? 0)), itemStyle: { color: PALETTE.claims } },
      { name: "Customer", type: "bar", data: pools.map((p) => round1(p.conversion?.customerPercent ?? 0)), itemStyle: { color: PALETTE.ok } },
    ],
  };
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}
