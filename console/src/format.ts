// How things read on screen: times, durations, lead and resource names.
import type { Duration, Timestamp } from "@bufbuild/protobuf/wkt";
import { durationMs, timestampDate } from "@bufbuild/protobuf/wkt";
import { type Lead, LeadState, Outcome } from "./gen/leadpool/v1/lead_pb";

/** "14:05" in the browser's time zone. */
export function clockTime(date: Date): string {
  const time = date.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", hour12: false });
  const sameDay = date.toDateString() === new Date().toDateString();
  return sameDay ? time : `${date.toLocaleDateString("en-GB", { weekday: "short", day: "numeric", month: "short" })} ${time}`;
}

export function toDate(ts: Timestamp | undefined): Date | undefined {
  return ts ? timestampDate(ts) : undefined;
}

/** "Mon 3 Mar 14:05", or "—" when unset. */
export function dateTime(ts: Timestamp | Date | undefined): string {
  const date = ts instanceof Date ? ts : toDate(ts);
  if (!date) return "—";
  return date.toLocaleString("en-GB", {
    weekday: "short",
    day: "numeric",
    month: "short",
    hour: "2-digit",
    minute: "2-digit",
    hour12: false,
  });
}

/** "1h 05m", "12m", "45s". */
export function span(ms: number): string {
  const negative = ms < 0;
  let s = Math.round(Math.abs(ms) / 1000);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  let text: string;
  if (d > 0) text = h ? `${d}d ${h}h` : `${d}d`;
  else if (h > 0) text = m ? `${h}h ${String(m).padStart(2, "0")}m` : `${h}h`;
  else if (m > 0) text = s ? `${m}m ${String(s).padStart(2, "0")}s` : `${m}m`;
  else text = `${s}s`;
  return negative ? `-${text}` : text;
}

export function durationText(d: Duration | undefined): string {
  return d ? span(durationMs(d)) : "—";
}

/** "hot" from "pools/hot". */
export function idOf(name: string): string {
  const slash = name.indexOf("/");
  return slash >= 0 ? name.slice(slash + 1) : name;
}

/** The lead as a rep knows it: the contact if she may see it, else its id. */
export function leadLabel(lead: Lead): string {
  const c = lead.contact;
  const who = c?.name || c?.email || c?.company || c?.companyDomain;
  return who || `Lead ${idOf(lead.name).slice(0, 8)}`;
}

const STATES: Record<LeadState, string> = {
  [LeadState.UNSPECIFIED]: "unknown",
  [LeadState.RECEIVED]: "received",
  [LeadState.REJECTED]: "rejected",
  [LeadState.SCHEDULED]: "scheduled",
  [LeadState.AVAILABLE]: "available",
  [LeadState.CLAIMED]: "claimed",
  [LeadState.ASSIGNED]: "assigned",
  [LeadState.CONTACTED]: "contacted",
  [LeadState.CLOSED]: "closed",
  [LeadState.ESCALATED]: "escalated",
  [LeadState.NURTURE]: "nurture",
  [LeadState.ARCHIVED]: "archived",
};

export function stateLabel(state: LeadState): string {
  return STATES[state] ?? "unknown";
}

export function outcomeLabel(outcome: Outcome): string {
  switch (outcome) {
    case Outcome.OPPORTUNITY:
      return "opportunity";
    case Outcome.CUSTOMER:
      return "customer";
    case Outcome.LOST:
      return "lost";
    default:
      return "";
  }
}

/** Deal size from minor units: "1,250.00". */
export function money(minor: bigint | number): string {
  const value = Number(minor) / 100;
  return value.toLocaleString("en-GB", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

export function percent(value: number | undefined, digits = 0): string {
  return value === undefined || Number.isNaN(value) ? "—" : `${value.toFixed(digits)}%`;
}

export function count(value: bigint | number): string {
  return Number(value).toLocaleString("en-GB");
}
