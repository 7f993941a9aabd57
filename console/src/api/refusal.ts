// Every refusal in words a rep understands, from the google.rpc details Leadpool attaches:
// ErrorInfo.reason (proto/leadpool/v1/error_reason.proto), RetryInfo (when to try again),
// QuotaFailure (which limit), PreconditionFailure (which rule), BadRequest (which field),
// ResourceInfo (what was not found).
import { durationMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  BadRequestSchema,
  ErrorInfoSchema,
  PreconditionFailureSchema,
  QuotaFailureSchema,
  ResourceInfoSchema,
  RetryInfoSchema,
} from "../gen/google/rpc/error_details_pb";
import { clockTime } from "../format";

export interface Refusal {
  /** One sentence: what happened. */
  headline: string;
  /** What else the details say, one line each. */
  details: string[];
  /** ErrorInfo.reason, when given. */
  reason?: string;
  /** When the caller may try again (RetryInfo), when given. */
  retryAt?: Date;
  code: Code;
}

/** What each reason means for the person in front of the console. */
const REASONS: Record<string, string> = {
  LEAD_NOT_AVAILABLE: "This lead is no longer available: another rep claimed it first, or it moved on.",
  POOL_EMPTY: "This pool has no lead to claim right now.",
  CLAIM_RATIO: "You need to work more leads from other pools before you can claim from this one.",
  TIER_GATED: "This pool opens only once the pools ahead of it are empty.",
  ROTATION_WINDOW: "New leads here are in another rep's first-look window for now.",
  RECLAIM_EMBARGO: "You gave this lead up too recently to claim it again.",
  ACCEPTANCE_TOO_LOW: "You accepted too few of your assignments to claim from pools.",
  REP_NOT_REGISTERED: "You are not a rep in the routing policy.",
  REP_INACTIVE: "You are marked inactive in the routing policy.",
  LEAD_NOT_OWNED: "That needs a lead you hold.",
  POLICY_VERSION_CHANGED: "Someone applied another policy version since you loaded this one. Reload it and try again.",
  LEAD_NOT_FOUND: "That lead does not exist.",
  LEAD_REJECTED: "Qualification rejected this lead, so it is not routed.",
  NO_MATCHING_RULE: "No routing rule matches this lead.",
  NO_REP_AVAILABLE: "Nobody is available to assign this lead to.",
  DAILY_CLAIM_LIMIT: "You reached your daily claim limit.",
  HOURLY_CLAIM_LIMIT: "You reached your hourly claim limit.",
  POOL_DAILY_CLAIM_LIMIT: "You reached this pool's daily claim limit.",
  POOL_HOURLY_CLAIM_LIMIT: "You reached this pool's hourly claim limit.",
  CLAIM_COOLDOWN: "You claimed several leads in a row: take a short pause.",
  ACTIVE_LEAD_LIMIT: "You hold as many open leads as you may. Work or release one first.",
  POOL_ACTIVE_LEAD_LIMIT: "You hold as many open leads from this pool as you may. Work or release one first.",
  DEPENDENCY_UNAVAILABLE: "Leadpool cannot reach one of its databases right now; claiming is paused.",
  ASSIGNMENT_NOT_REJECTABLE: "This assignment cannot be turned down.",
  REP_UNAVAILABLE: "That rep is away (out of office or busy).",
  REP_NOT_ELIGIBLE: "That rep may not work this lead's pool.",
  LEAD_NOT_HELD: "That needs a lead a rep holds (claimed, assigned or contacted).",
  POOL_HOLDS_LEADS: "The document drops a pool that still holds leads; say where they go with retiredPools.",
  OVERLOADED: "Leadpool is busy right now; nothing was done.",
  DEADLINE_EXCEEDED: "That took too long and was stopped; nothing was changed.",
};

/** Words for a reason name (also LeadRefusal.reason and PreconditionFailure types). */
export function reasonInWords(reason: string): string {
  return REASONS[reason] ?? reason.toLowerCase().replaceAll("_", " ");
}

const BY_CODE: Partial<Record<Code, string>> = {
  [Code.Unauthenticated]: "Leadpool did not accept your sign-in.",
  [Code.PermissionDenied]: "You are not allowed to do that.",
  [Code.NotFound]: "That was not found.",
  [Code.AlreadyExists]: "That already exists.",
  [Code.InvalidArgument]: "Some of what you entered is not valid.",
  [Code.FailedPrecondition]: "That cannot be done right now.",
  [Code.ResourceExhausted]: "You reached a limit.",
  [Code.Unavailable]: "Leadpool cannot be reached right now. Try again in a moment.",
  [Code.DeadlineExceeded]: "That took too long and was stopped.",
  [Code.Unimplemented]: "This Leadpool deployment does not offer that.",
  [Code.Internal]: "Something went wrong inside Leadpool; the details are in its logs.",
};

export function explain(error: unknown): Refusal {
  const err = ConnectError.from(error);
  const details: string[] = [];
  const info = err.findDetails(ErrorInfoSchema)[0];
  const reason = info?.reason || undefined;
  let headline = (reason && REASONS[reason]) || BY_CODE[err.code] || "That did not work.";

  let retryAt: Date | undefined;
  const retry = err.findDetails(RetryInfoSchema)[0];
  if (retry?.retryDelay) {
    retryAt = new Date(Date.now() + durationMs(retry.retryDelay));
    const what = isClaimLimit(reason) ? "You can claim again" : "You can try again";
    details.push(`${what} at ${clockTime(retryAt)}.`);
  }
  for (const quota of err.findDetails(QuotaFailureSchema)) {
    for (const v of quota.violations) {
      details.push(`Limit: ${v.description}${v.subject ? ` (${subjectInWords(v.subject)})` : ""}.`);
    }
  }
  for (const failure of err.findDetails(PreconditionFailureSchema)) {
    for (const v of failure.violations) {
      const rule = v.type && v.type !== reason ? `${reasonInWords(v.type)} ` : "";
      details.push(`${rule}${v.description}${v.subject ? ` (${subjectInWords(v.subject)})` : ""}`.trim());
    }
  }
  const badRequest = err.findDetails(BadRequestSchema)[0];
  if (badRequest) {
    for (const v of badRequest.fieldViolations) details.push(`${v.field}: ${v.description}`);
  }
  const resource = err.findDetails(ResourceInfoSchema)[0];
  if (resource) {
    const kind = resource.resourceType ? `${resource.resourceType} ` : "";
    details.push(`${kind}${resource.resourceName} ${resource.description}`.trim() + ".");
  }
  if (err.code === Code.Unauthenticated) {
    headline = "Leadpool did not accept your sign-in.";
  }
  // The service's own sentence, unless the details already said it all.
  if (err.rawMessage && !details.some((d) => d.includes(err.rawMessage))) {
    details.push(err.rawMessage);
  }
  return { headline, details, reason, retryAt, code: err.code };
}

function isClaimLimit(reason: string | undefined): boolean {
  return !!reason && (reason.endsWith("CLAIM_LIMIT") || reason === "CLAIM_COOLDOWN");
}

function subjectInWords(subject: string): string {
  return subject.replace(/^reps\//, "rep ").replace(/^pools\//, "pool ").replace(/^leads\//, "lead ");
}

export function isCode(error: unknown, code: Code): boolean {
  return ConnectError.from(error).code === code;
}
