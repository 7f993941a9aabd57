// The routing policies the specs apply (through RoutingService.ApplyPolicy, as ops would).

/** Reps working shared pools under an hourly claim limit. */
export const REP_POLICY = `
apiVersion: leadpool.dev/v1
kind: Policy
metadata:
  name: console-e2e-reps
teams:
  - { id: floor, timeZone: UTC }
reps:
  - { id: alice, name: Alice, team: floor, role: sdr }
  - { id: bob, name: Bob, team: floor, role: sdr }
  - { id: carol, name: Carol, team: floor, role: sdr }
limits:
  perHour: 3
pools:
  - { id: shared, name: Shared leads, type: open, contactSla: 2h }
  - { id: busy, name: Busy pool, type: open, contactSla: 2h }
qualification:
  minScore: 0
routing:
  rules:
    - { name: busy, match: { sources: [busy] }, pool: busy }
  default: { pool: shared }
`;

/** A team with its manager: escalations and pool health. */
export const MANAGER_POLICY = `
apiVersion: leadpool.dev/v1
kind: Policy
metadata:
  name: console-e2e-managers
teams:
  - { id: west, timeZone: UTC }
reps:
  - { id: wendy, name: Wendy, team: west, role: ae }
  - { id: will, name: Will, team: west, role: ae }
  - { id: max, name: Max, team: west, role: manager }
pools:
  - { id: inbound, name: Inbound, type: open, contactSla: 2h }
  - id: health
    name: Health check
    type: open
    contactSla: 2h
    health: { warning: 3, critical: 6 }
qualification:
  minScore: 0
routing:
  rules:
    - { name: health, match: { sources: [health] }, pool: health }
  default: { pool: inbound }
`;

/** Version 1 of the admin spec: leads land in old-pool. */
export const ADMIN_POLICY_V1 = `
apiVersion: leadpool.dev/v1
kind: Policy
metadata:
  name: console-e2e-admin
reps:
  - { id: ana, name: Ana, role: sdr }
pools:
  - { id: old-pool, name: Old pool, type: open }
  - { id: new-pool, name: New pool, type: open }
qualification:
  minScore: 0
routing:
  default: { pool: old-pool }
`;

/** Version 2: old-pool retired, its leads drained to new-pool. */
export const ADMIN_POLICY_V2 = `
apiVersion: leadpool.dev/v1
kind: Policy
metadata:
  name: console-e2e-admin
reps:
  - { id: ana, name: Ana, role: sdr }
pools:
  - { id: new-pool, name: New pool, type: open }
retiredPools:
  - { id: old-pool, drainTo: new-pool }
qualification:
  minScore: 0
routing:
  default: { pool: new-pool }
`;

/** Reps known to the identity provider by email (auth.claims.match = "email"). */
export const OIDC_POLICY = `
apiVersion: leadpool.dev/v1
kind: Policy
metadata:
  name: console-e2e-oidc
teams:
  - { id: field, timeZone: UTC }
reps:
  - { id: olivia, name: Olivia, team: field, role: ae, email: olivia@example.com }
  - { id: oscar, name: Oscar, team: field, role: manager, email: oscar@example.com }
pools:
  - { id: field-leads, name: Field leads, type: open, contactSla: 2h }
qualification:
  minScore: 0
routing:
  default: { pool: field-leads }
`;
