-- Issue 22: a narrow, hot lead state. Claims and jobs change a lead's state, pool, owner and a
-- few times, and every such update of a row is written to every index of its table (a state
-- change is never a HOT update: partial indexes depend on it). The contact and personal data,
-- with the search, duplicate and idempotency indexes, move to `lead_contacts`, which no claim
-- or job touches; `leads` keeps the state and what routing, access and health read.
-- Written with the lead in one transaction, before it (so the statement inserting the lead can
-- answer with the whole lead), hence no foreign key.
CREATE TABLE lead_contacts (
    id              uuid PRIMARY KEY,
    -- Chosen by the submitter; a retry with the same key returns this lead.
    idempotency_key text NOT NULL UNIQUE,
    -- SHA-256 of the submitted lead, to tell a retry from a different lead reusing the key.
    request_hash    bytea NOT NULL,
    email           text NOT NULL DEFAULT '',
    contact_name    text NOT NULL DEFAULT '',
    company         text NOT NULL DEFAULT '',
    company_domain  text NOT NULL DEFAULT '',
    phone           text NOT NULL DEFAULT '',
    attributes      jsonb NOT NULL DEFAULT '{}',
    erased_at       timestamptz,
    erased_by       text
);

INSERT INTO lead_contacts (id, idempotency_key, request_hash, email, contact_name, company,
                           company_domain, phone, attributes, erased_at, erased_by)
SELECT id, idempotency_key, request_hash, email, contact_name, company, company_domain, phone,
       attributes, erased_at, erased_by
FROM leads;

-- Duplicates (email, or company domain and name) among every lead; intake and the weekly
-- cleanup join the lead's state to leave rejected ones out.
CREATE INDEX lead_contacts_by_email ON lead_contacts (email) WHERE email <> '';
CREATE INDEX lead_contacts_by_company ON lead_contacts (company_domain, lower(company))
    WHERE company_domain <> '' AND company <> '';
-- Managers' search by prefix.
CREATE INDEX lead_contacts_search_email ON lead_contacts (lower(email) text_pattern_ops)
    WHERE email <> '';
CREATE INDEX lead_contacts_search_name ON lead_contacts (lower(contact_name) text_pattern_ops)
    WHERE contact_name <> '';
CREATE INDEX lead_contacts_search_company ON lead_contacts (lower(company) text_pattern_ops)
    WHERE company <> '';
CREATE INDEX lead_contacts_search_domain ON lead_contacts (company_domain text_pattern_ops)
    WHERE company_domain <> '';

-- Dropping the columns drops their indexes (unique key, duplicates, search) with them. Rows
-- written before keep the old values' space until they are next updated or the table is
-- rewritten (docs/benchmarks.md: `VACUUM FULL leads` after upgrading a large database).
ALTER TABLE leads
    DROP COLUMN idempotency_key,
    DROP COLUMN request_hash,
    DROP COLUMN email,
    DROP COLUMN contact_name,
    DROP COLUMN company,
    DROP COLUMN company_domain,
    DROP COLUMN phone,
    DROP COLUMN attributes,
    DROP COLUMN erased_at,
    DROP COLUMN erased_by;

-- Foreign keys checked on every claim, for rows the services write only from the policy they
-- validated: a claim's owner is a rep of the policy in force (the claim checks), a history row's
-- lead is the row the same statement changed. Each cost a lookup and a row lock per claimed
-- lead. The pool reference stays: it is checked only when a lead changes pool.
ALTER TABLE leads DROP CONSTRAINT leads_owner_rep_id_fkey;
ALTER TABLE lead_events DROP CONSTRAINT lead_events_lead_id_fkey;

-- `leads_unclaimed_by_age` (available or escalated) serves what this one did.
DROP INDEX leads_escalated_by_age;

-- Room on each page for the new version of a row, so updates that change no indexed column
-- (a contact recorded on an assigned lead's row, a rejectable flag) can stay HOT; and vacuum
-- after a few thousand changed rows, not a fifth of the table, so the dead entries claims leave
-- at the head of a pool's index are cleared while the pool is worked.
ALTER TABLE leads SET (fillfactor = 85, autovacuum_vacuum_scale_factor = 0,
                       autovacuum_vacuum_threshold = 5000, autovacuum_analyze_scale_factor = 0.02);
