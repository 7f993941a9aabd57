-- Deleting a webhook subscription cancels what it had not sent: its pending deliveries (also
-- those a worker holds under a lease) become 'cancelled' in the delete's transaction, and a
-- worker sends a delivery only after checking, under its row lock, that it is still pending.
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_state_check;
ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_state_check
    CHECK (state IN ('pending', 'delivered', 'dead', 'cancelled'));

-- `rejectable` now means what the API shows: the lead's holder received it without claiming it
-- and may still turn it down (RejectAssignment). It is set by every push and manager's move,
-- and cleared when she accepts or contacts it, or when the lead leaves her. Before, it was only
-- read while a lead was assigned; leads in any other state never had the choice.
ALTER TABLE leads ALTER COLUMN rejectable SET DEFAULT false;
UPDATE leads SET rejectable = false WHERE rejectable AND state <> 'assigned';
