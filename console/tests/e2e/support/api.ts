// Test data through the API, as users make it: generated clients over gRPC-web straight to each
// binary, with tokens minted from the stack's HS256 secret (as `make token` does) or from
// development sign-in.
import { createClient } from "@connectrpc/connect";
import type { Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { SignJWT } from "jose";
import { DevSignInService } from "../../../src/gen/leadpool/dev/v1/sign_in_pb";
import { ClaimService } from "../../../src/gen/leadpool/v1/claim_service_pb";
import { EventService } from "../../../src/gen/leadpool/v1/event_service_pb";
import { IntakeService } from "../../../src/gen/leadpool/v1/intake_service_pb";
import type { Lead } from "../../../src/gen/leadpool/v1/lead_pb";
import { RoutingService } from "../../../src/gen/leadpool/v1/routing_service_pb";
import { SchedulerService } from "../../../src/gen/leadpool/v1/scheduler_service_pb";
import { type Stack, waitFor } from "./stack";

export type Role = "rep" | "manager" | "admin" | "service";

/** A Leadpool token (HS256, the stack's secret), as the services' own tokens are made. */
export async function mintToken(stack: Stack, subject: string, roles: Role[], extra: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT({ roles, ...extra })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(subject)
    .setIssuer(stack.issuer)
    .setAudience("leadpool")
    .setIssuedAt()
    .setExpirationTime("2h")
    .sign(new TextEncoder().encode(stack.secret));
}

function transport(address: string, token?: string) {
  const bearer: Interceptor = (next) => async (request) => {
    if (token) request.header.set("authorization", `Bearer ${token}`);
    return next(request);
  };
  // gRPC-web, which every binary serves on its port (HTTP/1.1), with Node's fetch.
  return createGrpcWebTransport({ baseUrl: `http://${address}`, interceptors: [bearer], defaultTimeoutMs: 30_000 });
}

/** Every service's client, calling as the holder of `token`. */
export function clients(stack: Stack, token?: string) {
  return {
    intake: createClient(IntakeService, transport(stack.grpc.intake, token)),
    routing: createClient(RoutingService, transport(stack.grpc.routing, token)),
    claim: createClient(ClaimService, transport(stack.grpc.claim, token)),
    scheduler: createClient(SchedulerService, transport(stack.grpc.scheduler, token)),
    events: createClient(EventService, transport(stack.grpc.scheduler, token)),
    devSignIn: createClient(DevSignInService, transport(stack.grpc.routing)),
  };
}

export type Clients = ReturnType<typeof clients>;

/** Calls as an administrator: development sign-in's `users/ops`, or a minted admin token. */
export async function asAdmin(stack: Stack, devSignIn = true): Promise<Clients> {
  if (devSignIn) {
    const answer = await clients(stack).devSignIn.signIn({ subject: "users/ops" });
    return clients(stack, answer.token);
  }
  return clients(stack, await mintToken(stack, "users/console-test", ["admin"]));
}

export async function asRep(stack: Stack, rep: string, roles: Role[] = ["rep"]): Promise<Clients> {
  return clients(stack, await mintToken(stack, `reps/${rep}`, roles));
}

export async function asService(stack: Stack): Promise<Clients> {
  return clients(stack, await mintToken(stack, "services/console-test", ["service"]));
}

/**
 * Applies a policy and waits until the scheduler follows it too (it re-reads the policy every
 * second): its pool health lists exactly the pools routing lists.
 */
export async function applyPolicy(admin: Clients, document: string): Promise<bigint> {
  const answer = await admin.routing.applyPolicy({ document });
  const version = answer.policy?.version ?? 0n;
  const pools = (await admin.routing.listPools({ pageSize: 1000 })).pools.map((p) => p.name).sort().join(",");
  await waitFor(`the scheduler to follow policy version ${version} (pools ${pools})`, 15_000, async () => {
    const health = await admin.scheduler.listPoolHealth({ pageSize: 1000 });
    return health.pools.map((p) => p.pool).sort().join(",") === pools ? true : undefined;
  });
  return version;
}

export interface LeadInput {
  email: string;
  name?: string;
  company?: string;
  score: number;
  source?: string;
  region?: string;
}

let submitted = 0;

/** Submits leads through intake as a web-form service would; returns them as stored. */
export async function submitLeads(stack: Stack, leads: LeadInput[]): Promise<Lead[]> {
  const service = await asService(stack);
  const out: Lead[] = [];
  for (const lead of leads) {
    const answer = await service.intake.submitLead({
      idempotencyKey: `console-e2e-${process.pid}-${Date.now()}-${submitted++}`,
      contact: { email: lead.email, name: lead.name ?? "", company: lead.company ?? "" },
      score: lead.score,
      source: lead.source ?? "web",
      region: lead.region ?? "",
    });
    out.push(answer.lead!);
  }
  return out;
}

/** Runs a scheduler job as of a time (e.g. aging 49 hours from now escalates leads). */
export async function runJob(admin: Clients, job: string, asOf: Date) {
  return admin.scheduler.runJob({ name: `jobs/${job}`, asOf: timestampFromDate(asOf) });
}

/** Runs a job until it changes something (the lead it is meant for may still be routing). */
export async function runJobUntilItActs(admin: Clients, job: string, asOf: Date) {
  return waitFor(`jobs/${job} as of ${asOf.toISOString()} to change a lead`, 15_000, async () => {
    const run = await runJob(admin, job, asOf);
    return run.affected > 0n ? run : undefined;
  }, 500);
}
