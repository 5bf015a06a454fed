-- Billing: each clinic's billing details, services' prices for billing (tax, Medicare item
-- and rebate, deposit, fees), invoices and their lines, payments with numbered receipts,
-- refunds, insurance/Medicare claims, referrals (funded plans), online payments (Stripe)
-- and the webhook events already processed. Money is INTEGER minor units; tax rates are
-- basis points (1000 = 10 %).

CREATE TABLE clinic_billing (
    clinic_id BLOB PRIMARY KEY NOT NULL REFERENCES clinics (id),
    legal_name TEXT NOT NULL DEFAULT '',
    tax_label TEXT NOT NULL DEFAULT 'ABN',
    tax_number TEXT NOT NULL DEFAULT '',
    tax_name TEXT NOT NULL DEFAULT 'GST',
    default_tax_bp INTEGER NOT NULL DEFAULT 1000 CHECK (default_tax_bp BETWEEN 0 AND 10000),
    currency TEXT NOT NULL,
    payment_terms_days INTEGER NOT NULL DEFAULT 14 CHECK (payment_terms_days BETWEEN 0 AND 365),
    invoice_prefix TEXT NOT NULL DEFAULT 'INV',
    upi_vpa TEXT,
    upi_payee_name TEXT,
    bank_details TEXT NOT NULL DEFAULT '',
    invoice_note TEXT NOT NULL DEFAULT '',
    online_payments BOOLEAN NOT NULL DEFAULT TRUE,
    updated_at INTEGER NOT NULL,
    updated_by BLOB
);

ALTER TABLE services ADD COLUMN tax_bp INTEGER CHECK (tax_bp IS NULL OR tax_bp BETWEEN 0 AND 10000);
ALTER TABLE services ADD COLUMN item_number TEXT;
ALTER TABLE services ADD COLUMN rebate_minor INTEGER NOT NULL DEFAULT 0 CHECK (rebate_minor >= 0);
ALTER TABLE services ADD COLUMN auto_invoice BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE services ADD COLUMN deposit_minor INTEGER NOT NULL DEFAULT 0 CHECK (deposit_minor >= 0);
ALTER TABLE services ADD COLUMN late_cancel_fee_minor INTEGER NOT NULL DEFAULT 0 CHECK (late_cancel_fee_minor >= 0);
ALTER TABLE services ADD COLUMN no_show_fee_minor INTEGER NOT NULL DEFAULT 0 CHECK (no_show_fee_minor >= 0);

CREATE TABLE invoices (
    id BLOB PRIMARY KEY NOT NULL,
    clinic_id BLOB NOT NULL REFERENCES clinics (id),
    patient_id BLOB NOT NULL REFERENCES patients (id),
    provider_id BLOB REFERENCES providers (id),
    appointment_id BLOB REFERENCES appointments (id),
    number TEXT,
    status TEXT NOT NULL CHECK (status IN ('draft', 'issued', 'partially_paid', 'paid', 'overdue', 'void')),
    source TEXT NOT NULL CHECK (source IN ('manual', 'appointment', 'auto', 'deposit', 'late_cancel', 'no_show', 'reissue')),
    currency TEXT NOT NULL,
    issue_date TEXT,
    due_date TEXT,
    subtotal_minor INTEGER NOT NULL DEFAULT 0,
    discount_minor INTEGER NOT NULL DEFAULT 0,
    tax_minor INTEGER NOT NULL DEFAULT 0,
    total_minor INTEGER NOT NULL DEFAULT 0 CHECK (total_minor >= 0),
    rebate_minor INTEGER NOT NULL DEFAULT 0,
    paid_minor INTEGER NOT NULL DEFAULT 0 CHECK (paid_minor >= 0 AND paid_minor <= total_minor),
    notes TEXT NOT NULL DEFAULT '',
    void_reason TEXT,
    voided_at INTEGER,
    voided_by BLOB,
    reissue_of BLOB REFERENCES invoices (id),
    issued_at INTEGER,
    issued_by BLOB,
    overdue_at INTEGER,
    created_at INTEGER NOT NULL,
    created_by BLOB,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    CHECK (status = 'draft' OR status = 'void' OR (number IS NOT NULL AND issue_date IS NOT NULL AND due_date IS NOT NULL))
);
CREATE UNIQUE INDEX invoices_number_key ON invoices (clinic_id, number);
CREATE INDEX invoices_patient_idx ON invoices (patient_id, created_at);
CREATE INDEX invoices_status_due_idx ON invoices (status, due_date);
CREATE INDEX invoices_clinic_issue_idx ON invoices (clinic_id, issue_date);
CREATE INDEX invoices_provider_idx ON invoices (provider_id, issue_date);
CREATE INDEX invoices_appointment_idx ON invoices (appointment_id);
-- The aged-receivables report reads only open invoices, from this index alone.
CREATE INDEX invoices_open_idx ON invoices (currency, issue_date, total_minor, paid_minor, clinic_id, provider_id)
    WHERE status IN ('issued', 'partially_paid', 'overdue');
-- One automatic invoice (draft on completion, deposit, fee) per appointment and kind.
CREATE UNIQUE INDEX invoices_automatic_key ON invoices (appointment_id, patient_id, source)
    WHERE source IN ('auto', 'deposit', 'late_cancel', 'no_show') AND status <> 'void';

CREATE TABLE invoice_lines (
    id BLOB PRIMARY KEY NOT NULL,
    invoice_id BLOB NOT NULL REFERENCES invoices (id),
    position INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('charge', 'fee', 'deposit', 'deposit_credit')),
    appointment_id BLOB REFERENCES appointments (id),
    service_id BLOB REFERENCES services (id),
    provider_id BLOB REFERENCES providers (id),
    credit_of BLOB REFERENCES invoices (id),
    description TEXT NOT NULL,
    service_date TEXT,
    item_number TEXT,
    quantity INTEGER NOT NULL,
    unit_price_minor INTEGER NOT NULL,
    discount_kind TEXT NOT NULL CHECK (discount_kind IN ('none', 'amount', 'percent')),
    discount_value INTEGER NOT NULL,
    tax_bp INTEGER NOT NULL,
    gross_minor INTEGER NOT NULL,
    discount_minor INTEGER NOT NULL,
    net_minor INTEGER NOT NULL,
    tax_minor INTEGER NOT NULL,
    total_minor INTEGER NOT NULL,
    rebate_minor INTEGER NOT NULL
);
CREATE INDEX invoice_lines_invoice_idx ON invoice_lines (invoice_id, position);
CREATE INDEX invoice_lines_appointment_idx ON invoice_lines (appointment_id);

-- An issued invoice is never edited or deleted, whatever the application does: only its
-- status, payments and void/overdue stamps change.
CREATE TRIGGER invoices_issued_are_final BEFORE UPDATE ON invoices
WHEN OLD.status <> 'draft' AND (NEW.number IS NOT OLD.number OR NEW.total_minor IS NOT OLD.total_minor
    OR NEW.subtotal_minor IS NOT OLD.subtotal_minor OR NEW.tax_minor IS NOT OLD.tax_minor
    OR NEW.rebate_minor IS NOT OLD.rebate_minor OR NEW.discount_minor IS NOT OLD.discount_minor
    OR NEW.patient_id IS NOT OLD.patient_id OR NEW.clinic_id IS NOT OLD.clinic_id
    OR NEW.currency IS NOT OLD.currency OR NEW.issue_date IS NOT OLD.issue_date
    OR NEW.due_date IS NOT OLD.due_date OR NEW.status = 'draft' OR (OLD.status = 'void' AND NEW.status <> 'void'))
BEGIN SELECT RAISE(ABORT, 'an issued invoice cannot be changed; void it and issue a new one'); END;
CREATE TRIGGER invoices_issued_no_delete BEFORE DELETE ON invoices
WHEN OLD.status <> 'draft'
BEGIN SELECT RAISE(ABORT, 'an issued invoice is never deleted; void it'); END;
CREATE TRIGGER invoice_lines_frozen_update BEFORE UPDATE ON invoice_lines
WHEN (SELECT status FROM invoices WHERE id = OLD.invoice_id) <> 'draft'
BEGIN SELECT RAISE(ABORT, 'the lines of an issued invoice are never changed'); END;
CREATE TRIGGER invoice_lines_frozen_delete BEFORE DELETE ON invoice_lines
WHEN (SELECT status FROM invoices WHERE id = OLD.invoice_id) <> 'draft'
BEGIN SELECT RAISE(ABORT, 'the lines of an issued invoice are never changed'); END;
CREATE TRIGGER invoice_lines_frozen_insert BEFORE INSERT ON invoice_lines
WHEN (SELECT status FROM invoices WHERE id = NEW.invoice_id) <> 'draft'
BEGIN SELECT RAISE(ABORT, 'the lines of an issued invoice are never changed'); END;

CREATE TABLE online_payments (
    id BLOB PRIMARY KEY NOT NULL,
    invoice_id BLOB NOT NULL REFERENCES invoices (id),
    intent_id TEXT NOT NULL,
    amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    client_secret_enc TEXT,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    created_by BLOB,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX online_payments_intent_key ON online_payments (intent_id);
CREATE INDEX online_payments_invoice_idx ON online_payments (invoice_id, created_at);

CREATE TABLE claims (
    id BLOB PRIMARY KEY NOT NULL,
    invoice_id BLOB NOT NULL REFERENCES invoices (id),
    line_id BLOB NOT NULL REFERENCES invoice_lines (id),
    payer TEXT NOT NULL,
    item_number TEXT NOT NULL,
    claimed_minor INTEGER NOT NULL CHECK (claimed_minor > 0),
    approved_minor INTEGER CHECK (approved_minor IS NULL OR approved_minor >= 0),
    status TEXT NOT NULL CHECK (status IN ('pending', 'submitted', 'approved', 'rejected', 'withdrawn')),
    reason TEXT,
    reference TEXT NOT NULL DEFAULT '',
    submitted_at INTEGER,
    decided_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX claims_line_key ON claims (line_id);
CREATE INDEX claims_invoice_idx ON claims (invoice_id);
CREATE INDEX claims_status_idx ON claims (status, created_at);

CREATE TABLE payments (
    id BLOB PRIMARY KEY NOT NULL,
    invoice_id BLOB NOT NULL REFERENCES invoices (id),
    clinic_id BLOB NOT NULL REFERENCES clinics (id),
    patient_id BLOB NOT NULL REFERENCES patients (id),
    receipt_number TEXT NOT NULL,
    method TEXT NOT NULL CHECK (method IN ('cash', 'card', 'bank_transfer', 'upi', 'online', 'insurer')),
    amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
    refunded_minor INTEGER NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0 AND refunded_minor <= amount_minor),
    currency TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    reference TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    claim_id BLOB REFERENCES claims (id),
    online_payment_id BLOB REFERENCES online_payments (id),
    request_key TEXT,
    created_at INTEGER NOT NULL,
    created_by BLOB
);
CREATE UNIQUE INDEX payments_receipt_key ON payments (clinic_id, receipt_number);
CREATE UNIQUE INDEX payments_online_key ON payments (online_payment_id);
CREATE UNIQUE INDEX payments_upi_reference_key ON payments (clinic_id, reference) WHERE method = 'upi';
-- A form sent twice (a double click) records one payment.
CREATE UNIQUE INDEX payments_request_key ON payments (request_key);
CREATE INDEX payments_invoice_idx ON payments (invoice_id);
CREATE INDEX payments_received_idx ON payments (clinic_id, received_at);

CREATE TABLE refunds (
    id BLOB PRIMARY KEY NOT NULL,
    payment_id BLOB NOT NULL REFERENCES payments (id),
    invoice_id BLOB NOT NULL REFERENCES invoices (id),
    number TEXT NOT NULL,
    amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
    reason TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    stripe_refund_id TEXT,
    failure TEXT,
    request_key TEXT,
    created_at INTEGER NOT NULL,
    created_by BLOB,
    completed_at INTEGER
);
CREATE UNIQUE INDEX refunds_number_key ON refunds (number);
CREATE UNIQUE INDEX refunds_stripe_key ON refunds (stripe_refund_id);
CREATE UNIQUE INDEX refunds_request_key ON refunds (request_key);
CREATE INDEX refunds_payment_idx ON refunds (payment_id);
CREATE INDEX refunds_created_idx ON refunds (created_at);

CREATE TABLE payment_webhook_events (
    provider TEXT NOT NULL,
    event_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    outcome TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (provider, event_id)
);

CREATE TABLE referrals (
    id BLOB PRIMARY KEY NOT NULL,
    patient_id BLOB NOT NULL REFERENCES patients (id),
    label TEXT NOT NULL,
    referrer_name TEXT NOT NULL,
    referrer_number TEXT NOT NULL DEFAULT '',
    referral_date TEXT NOT NULL,
    expiry_date TEXT,
    session_cap INTEGER CHECK (session_cap IS NULL OR session_cap > 0),
    cap_period TEXT NOT NULL CHECK (cap_period IN ('calendar_year', 'referral')),
    specialty_id BLOB REFERENCES specialties (id),
    notes TEXT NOT NULL DEFAULT '',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at INTEGER NOT NULL,
    created_by BLOB,
    updated_at INTEGER NOT NULL,
    CHECK (expiry_date IS NULL OR expiry_date >= referral_date)
);
CREATE INDEX referrals_patient_idx ON referrals (patient_id);
