-- Issue 13: the event stream. Every lead_events row is an event, and so is every row of
-- service_events (pool alerts firing and resolving, policy applies).
--
-- A cursor must never skip an event whose transaction commits after a later one: ids are
-- handed out at insert but become visible at commit, so "every id > my last" silently loses a
-- late commit (commanded/eventstore#3, SQLStreamStore#121, Eventuous#222). So the stream is cut
-- into *epochs* by commit time instead: every so often the epoch marker takes a snapshot of the
-- database (pg_current_snapshot) and closes an epoch holding the events whose transactions
-- committed since the previous snapshot (visible in this one, not in that one). A closed epoch
-- can never gain an event, because a transaction still running at the snapshot lands in a
-- later epoch when it commits. The stream is the epochs in order, each in id order; a cursor
-- is (epoch, id). Nothing is written per event beyond the event row itself.
--
-- Order per lead: two changes of one lead are made under the lead's row lock, so the second
-- is inserted (and given its id) after the first committed — it is in the same epoch with a
-- higher id, or in a later epoch.

-- The transaction that wrote the row. Rows written before this migration have none and are
-- not in the stream (their history stays readable with ListLeadEvents).
ALTER TABLE lead_events ADD COLUMN xid xid8;
ALTER TABLE lead_events ALTER COLUMN xid SET DEFAULT pg_current_xact_id();
CREATE INDEX lead_events_by_xid ON lead_events (xid);
-- The W3C trace context of the call that made the change (the store sets it per
-- transaction), so the webhook request it causes continues the trace.
ALTER TABLE lead_events ADD COLUMN traceparent text
    DEFAULT NULLIF(current_setting('leadpool.traceparent', true), '');

CREATE TABLE service_events (
    -- From lead_events' sequence: an id names one event of the stream, whichever table.
    id          bigint PRIMARY KEY DEFAULT nextval('lead_events_id_seq'),
    type        text NOT NULL,
    -- What the event is about: pools/west/alerts/aging, policy.
    subject     text NOT NULL,
    pool_id     text,
    data        jsonb NOT NULL,
    occurred_at timestamptz NOT NULL,
    traceparent text DEFAULT NULLIF(current_setting('leadpool.traceparent', true), ''),
    xid         xid8 NOT NULL DEFAULT pg_current_xact_id()
);
CREATE INDEX service_events_by_xid ON service_events (xid);

-- One row per closed epoch: the events visible in `snapshot` and not in the previous epoch's
-- snapshot (whose xmax and in-progress list are copied here, so one epoch reads alone).
CREATE TABLE event_epochs (
    epoch      bigint PRIMARY KEY,
    snapshot   pg_snapshot NOT NULL,
    after_xmax xid8 NOT NULL,
    after_xip  xid8[] NOT NULL,
    until_xmax xid8 NOT NULL
);
-- Epoch 0 is empty: the stream begins here.
INSERT INTO event_epochs (epoch, snapshot, after_xmax, after_xip, until_xmax)
SELECT 0, s, pg_snapshot_xmax(s), ARRAY(SELECT pg_snapshot_xip(s)), pg_snapshot_xmax(s)
FROM pg_current_snapshot() AS s;

-- Every event in one shape (CloudEvents' fields, data as JSON).
CREATE VIEW event_rows AS
SELECT e.id, e.xid, e.kind AS type, 'leads/' || e.lead_id AS subject, e.lead_id, e.pool_id,
       e.rep_id, e.occurred_at, e.traceparent,
       jsonb_strip_nulls(jsonb_build_object(
           'lead', 'leads/' || e.lead_id, 'from', e.from_state, 'to', e.to_state,
           'actor', e.actor, 'reason', NULLIF(e.reason, ''), 'pool', 'pools/' || e.pool_id,
           'rep', 'reps/' || e.rep_id, 'excused', NULLIF(e.excused, false))) AS data
FROM lead_events e
UNION ALL
SELECT s.id, s.xid, s.type, s.subject, NULL, s.pool_id, NULL, s.occurred_at, s.traceparent,
       s.data
FROM service_events s;

-- The stream: each closed epoch's events.
CREATE VIEW event_stream AS
SELECT ep.epoch, r.*
FROM event_epochs ep
CROSS JOIN LATERAL (
    SELECT * FROM event_rows r
    WHERE ((r.xid >= ep.after_xmax AND r.xid < ep.until_xmax) OR r.xid = ANY (ep.after_xip))
      AND pg_visible_in_snapshot(r.xid, ep.snapshot)
) r;

-- Which alerts are firing, as the alert-events job last saw them (to emit fired/resolved).
CREATE TABLE alert_states (
    name    text PRIMARY KEY,
    kind    text NOT NULL,
    summary text NOT NULL,
    pool_id text,
    since   timestamptz NOT NULL
);

-- lead_events stays append-only; an erasure may blank a reason and nothing else.
CREATE OR REPLACE FUNCTION lead_events_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.reason = '[erased]'
       AND (NEW.id, NEW.lead_id, NEW.from_state, NEW.to_state, NEW.actor, NEW.pool_id,
            NEW.rep_id, NEW.occurred_at, NEW.kind, NEW.excused, NEW.xid, NEW.traceparent)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.lead_id, OLD.from_state, OLD.to_state, OLD.actor, OLD.pool_id,
            OLD.rep_id, OLD.occurred_at, OLD.kind, OLD.excused, OLD.xid, OLD.traceparent) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'lead_events is append-only: % is not allowed', TG_OP;
END;
$$;

-- A contact deadline about to pass is an event of its own.
ALTER TABLE lead_events DROP CONSTRAINT lead_events_kind_is_known;
-- The list is leadpool_domain::EventKind; a test keeps the two equal.
ALTER TABLE lead_events ADD CONSTRAINT lead_events_kind_is_known CHECK (kind IN (
    'lead.received', 'lead.rejected', 'lead.merged', 'lead.routed', 'lead.auto_assigned',
    'lead.pool_released', 'lead.claimed', 'lead.released', 'lead.contacted',
    'lead.opportunity', 'lead.won', 'lead.lost',
    'lead.assignment_accepted', 'lead.assignment_rejected', 'lead.assignment_expired',
    'lead.sla_expired', 'lead.prioritized', 'lead.escalated', 'lead.force_assigned',
    'lead.moved', 'lead.nurtured', 'lead.archived', 'lead.held', 'lead.resumed',
    'lead.assigned', 'lead.reassigned', 'lead.returned', 'lead.erased', 'lead.drained',
    'lead.waiting', 'lead.contact_due_soon'));

-- Webhooks: subscriptions admins manage. Each follows the stream with a cursor of its own;
-- the dispatcher turns the events after it into deliveries and moves it on, in one
-- transaction (the event rows, committed with the changes, are the outbox).
CREATE TABLE webhook_subscriptions (
    id           uuid PRIMARY KEY,
    url          text NOT NULL,
    -- Empty: every type.
    types        text[] NOT NULL,
    pool_id      text,
    -- The signing secret (whsec_…): never returned after creation.
    secret       text NOT NULL,
    description  text NOT NULL DEFAULT '',
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL,
    deleted_at   timestamptz,
    -- Where in the stream the dispatcher is for this subscription: it starts at the head.
    after_epoch  bigint NOT NULL,
    after_id     bigint NOT NULL
);

CREATE TABLE webhook_deliveries (
    subscription_id uuid NOT NULL REFERENCES webhook_subscriptions (id),
    epoch           bigint NOT NULL,
    event_id        bigint NOT NULL,
    -- For per-lead order: a lead's next event waits for the one before it.
    lead_id         uuid,
    state           text NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts        integer NOT NULL DEFAULT 0,
    -- When it is due; while a worker holds it, when its lease ends.
    next_attempt_at timestamptz NOT NULL,
    first_failed_at timestamptz,
    last_error      text NOT NULL DEFAULT '',
    last_status     integer,
    delivered_at    timestamptz,
    PRIMARY KEY (subscription_id, epoch, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE state = 'pending';
CREATE INDEX webhook_deliveries_open_by_lead
    ON webhook_deliveries (subscription_id, lead_id, epoch, event_id) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_delivered ON webhook_deliveries (delivered_at)
    WHERE state = 'delivered';
