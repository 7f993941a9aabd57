// Typed clients for every service, generated from ../proto (src/gen), all on the one transport.
import { createClient } from "@connectrpc/connect";
import { DevSignInService } from "../gen/leadpool/dev/v1/sign_in_pb";
import { ClaimService } from "../gen/leadpool/v1/claim_service_pb";
import { EventService } from "../gen/leadpool/v1/event_service_pb";
import { RoutingService } from "../gen/leadpool/v1/routing_service_pb";
import { SchedulerService } from "../gen/leadpool/v1/scheduler_service_pb";
import { transport } from "./transport";

export const claim = createClient(ClaimService, transport);
export const routing = createClient(RoutingService, transport);
export const scheduler = createClient(SchedulerService, transport);
export const events = createClient(EventService, transport);
export const devSignIn = createClient(DevSignInService, transport);
