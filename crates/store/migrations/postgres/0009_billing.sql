-- Billing: each clinic's billing details, services' prices for billing (tax, Medicare item
-- and rebate, deposit, fees), invoices and their lines, payments with numbered receipts,
-- refunds, insurance/Medicare claims, referrals (funded plans), online payments (Stripe)
-- and the webhook events already processed. Money is BIGINT minor units; tax rates are
-- basis points (1000 = 10 %).

CREATE TABLE clinic_billing (
    clinic_id UUID PRIMARY KEY REFERENCES clinics (id),
    legal_name TEXT NOT NULL DEFAULT '',
    tax_label TEXT NOT NULL DEFAULT 'ABN',
    tax_number TEXT NOT NULL DEFAULT '',
    tax_name TEXT NOT NULL DEFAULT 'GST',
    default_tax_bp BIGINT NOT NULL DEFAULT 1000 CHECK (default_tax_bp BETWEEN 0 AND 10000),
    currency TEXT NOT NULL,
    payment_terms_days BIGINT NOT NULL DEFAULT 14 CHECK (payment_terms_days BETWEEN 0 AND 365),
    invoice_prefix TEXT NOT NULL DEFAULT 'INV',
    upi_vpa TEXT,
    upi_payee_name TEXT,
    bank_details TEXT NOT NULL DEFAULT '',
    invoice_note TEXT NOT NULL DEFAULT '',
    online_payments BOOLEAN NOT NULL DEFAULT TRUE,
    updated_at TIMESTAMPTZ NOT NULL,
    updated_by UUID
);

ALTER TABLE services ADD COLUMN tax_bp BIGINT CHECK (tax_bp IS NULL OR tax_bp BETWEEN 0 AND 10000);
ALTER TABLE services ADD COLUMN item_number TEXT;
ALTER TABLE services ADD COLUMN rebate_minor BIGINT NOT NULL DEFAULT 0 CHECK (rebate_minor >= 0);
ALTER TABLE services ADD COLUMN auto_invoice BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE services ADD COLUMN deposit_minor BIGINT NOT NULL DEFAULT 0 CHECK (deposit_minor >= 0);
ALTER TABLE services ADD COLUMN late_cancel_fee_minor BIGINT NOT NULL DEFAULT 0 CHECK (late_cancel_fee_minor >= 0);
ALTER TABLE services ADD COLUMN no_show_fee_minor BIGINT NOT NULL DEFAULT 0 CHECK (no_show_fee_minor >= 0);

CREATE TABLE invoices (
    id UUID PRIMARY KEY,
    clinic_id UUID NOT NULL REFERENCES clinics (id),
    patient_id UUID NOT NULL REFERENCES patients (id),
    provider_id UUID REFERENCES providers (id),
    appointment_id UUID REFERENCES appointments (id),
    number TEXT,
    status TEXT NOT NULL CHECK (status IN ('draft', 'issued', 'partially_paid', 'paid', 'overdue', 'void')),
    source TEXT NOT NULL CHECK (source IN ('manual', 'appointment', 'auto', 'deposit', 'late_cancel', 'no_show', 'reissue')),
    currency TEXT NOT NULL,
    issue_date DATE,
    due_date DATE,
    subtotal_minor BIGINT NOT NULL DEFAULT 0,
    discount_minor BIGINT NOT NULL DEFAULT 0,
    tax_minor BIGINT NOT NULL DEFAULT 0,
    total_minor BIGINT NOT NULL DEFAULT 0 CHECK (total_minor >= 0),
    rebate_minor BIGINT NOT NULL DEFAULT 0,
    paid_minor BIGINT NOT NULL DEFAULT 0 CHECK (paid_minor >= 0 AND paid_minor <= total_minor),
    notes TEXT NOT NULL DEFAULT '',
    void_reason TEXT,
    voided_at TIMESTAMPTZ,
    voided_by UUID,
    reissue_of UUID REFERENCES invoices (id),
    issued_at TIMESTAMPTZ,
    issued_by UUID,
    overdue_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    created_by UUID,
    updated_at TIMESTAMPTZ NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
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
    id UUID PRIMARY KEY,
    invoice_id UUID NOT NULL REFERENCES invoices (id),
    position BIGINT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('charge', 'fee', 'deposit', 'deposit_credit')),
    appointment_id UUID REFERENCES appointments (id),
    service_id UUID REFERENCES services (id),
    provider_id UUID REFERENCES providers (id),
    credit_of UUID REFERENCES invoices (id),
    description TEXT NOT NULL,
    service_date DATE,
    item_number TEXT,
    quantity BIGINT NOT NULL,
    unit_price_minor BIGINT NOT NULL,
    discount_kind TEXT NOT NULL CHECK (discount_kind IN ('none', 'amount', 'percent')),
    discount_value BIGINT NOT NULL,
    tax_bp BIGINT NOT NULL,
    gross_minor BIGINT NOT NULL,
    discount_minor BIGINT NOT NULL,
    net_minor BIGINT NOT NULL,
    tax_minor BIGINT NOT NULL,
    total_minor BIGINT NOT NULL,
    rebate_minor BIGINT NOT NULL
);
CREATE INDEX invoice_lines_invoice_idx ON invoice_lines (invoice_id, position);
CREATE INDEX invoice_lines_appointment_idx ON invoice_lines (appointment_id);

-- An issued invoice is never edited or deleted, whatever the application does: only its
-- status, payments and void/overdue stamps change.
CREATE FUNCTION invoices_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status <> 'draft' THEN
            RAISE EXCEPTION 'an issued invoice is never deleted; void it';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status <> 'draft' AND (NEW.number IS DISTINCT FROM OLD.number OR NEW.total_minor IS DISTINCT FROM OLD.total_minor
        OR NEW.subtotal_minor IS DISTINCT FROM OLD.subtotal_minor OR NEW.tax_minor IS DISTINCT FROM OLD.tax_minor
        OR NEW.rebate_minor IS DISTINCT FROM OLD.rebate_minor OR NEW.discount_minor IS DISTINCT FROM OLD.discount_minor
        OR NEW.patient_id IS DISTINCT FROM OLD.patient_id OR NEW.clinic_id IS DISTINCT FROM OLD.clinic_id
        OR NEW.currency IS DISTINCT FROM OLD.currency OR NEW.issue_date IS DISTINCT FROM OLD.issue_date
        OR NEW.due_date IS DISTINCT FROM OLD.due_date OR NEW.status = 'draft'
        OR (OLD.status = 'void' AND NEW.status <> 'void')) THEN
        RAISE EXCEPTION 'an issued invoice cannot be changed; void it and issue a new one';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER invoices_issued_are_final BEFORE UPDATE OR DELETE ON invoices
FOR EACH ROW EXECUTE FUNCTION invoices_guard();

CREATE FUNCTION invoice_lines_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    inv UUID;
BEGIN
    IF TG_OP = 'INSERT' THEN inv := NEW.invoice_id; ELSE inv := OLD.invoice_id; END IF;
    IF (SELECT status FROM invoices WHERE id = inv) <> 'draft' THEN
        RAISE EXCEPTION 'the lines of an issued invoice are never changed';
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER invoice_lines_frozen BEFORE INSERT OR UPDATE OR DELETE ON invoice_lines
FOR EACH ROW EXECUTE FUNCTION invoice_lines_guard();

CREATE TABLE online_payments (
    id UUID PRIMARY KEY,
    invoice_id UUID NOT NULL REFERENCES invoices (id),
    intent_id TEXT NOT NULL,
    amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    client_secret_enc TEXT,
    last_error TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    created_by UUID,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX online_payments_intent_key ON online_payments (intent_id);
CREATE INDEX online_payments_invoice_idx ON online_payments (invoice_id, created_at);

CREATE TABLE claims (
    id UUID PRIMARY KEY,
    invoice_id UUID NOT NULL REFERENCES invoices (id),
    line_id UUID NOT NULL REFERENCES invoice_lines (id),
    payer TEXT NOT NULL,
    item_number TEXT NOT NULL,
    claimed_minor BIGINT NOT NULL CHECK (claimed_minor > 0),
    approved_minor BIGINT CHECK (approved_minor IS NULL OR approved_minor >= 0),
    status TEXT NOT NULL CHECK (status IN ('pending', 'submitted', 'approved', 'rejected', 'withdrawn')),
    reason TEXT,
    reference TEXT NOT NULL DEFAULT '',
    submitted_at TIMESTAMPTZ,
    decided_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX claims_line_key ON claims (line_id);
CREATE INDEX claims_invoice_idx ON claims (invoice_id);
CREATE INDEX claims_status_idx ON claims (status, created_at);

CREATE TABLE payments (
    id UUID PRIMARY KEY,
    invoice_id UUID NOT NULL REFERENCES invoices (id),
    clinic_id UUID NOT NULL REFERENCES clinics (id),
    patient_id UUID NOT NULL REFERENCES patients (id),
    receipt_number TEXT NOT NULL,
    method TEXT NOT NULL CHECK (method IN ('cash', 'card', 'bank_transfer', 'upi', 'online', 'insurer')),
    amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
    refunded_minor BIGINT NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0 AND refunded_minor <= amount_minor),
    currency TEXT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    reference TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    claim_id UUID REFERENCES claims (id),
    online_payment_id UUID REFERENCES online_payments (id),
    request_key TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    created_by UUID
);
CREATE UNIQUE INDEX payments_receipt_key ON payments (clinic_id, receipt_number);
CREATE UNIQUE INDEX payments_online_key ON payments (online_payment_id);
CREATE UNIQUE INDEX payments_upi_reference_key ON payments (clinic_id, reference) WHERE method = 'upi';
-- A form sent twice (a double click) records one payment.
CREATE UNIQUE INDEX payments_request_key ON payments (request_key);
CREATE INDEX payments_invoice_idx ON payments (invoice_id);
CREATE INDEX payments_received_idx ON payments (clinic_id, received_at);

CREATE TABLE refunds (
    id UUID PRIMARY KEY,
    payment_id UUID NOT NULL REFERENCES payments (id),
    invoice_id UUID NOT NULL REFERENCES invoices (id),
    number TEXT NOT NULL,
    amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
    reason TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    stripe_refund_id TEXT,
    failure TEXT,
    request_key TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    created_by UUID,
    completed_at TIMESTAMPTZ
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
    received_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (provider, event_id)
);

CREATE TABLE referrals (
    id UUID PRIMARY KEY,
    patient_id UUID NOT NULL REFERENCES patients (id),
    label TEXT NOT NULL,
    referrer_name TEXT NOT NULL,
    referrer_number TEXT NOT NULL DEFAULT '',
    referral_date DATE NOT NULL,
    expiry_date DATE,
    session_cap BIGINT CHECK (session_cap IS NULL OR session_cap > 0),
    cap_period TEXT NOT NULL CHECK (cap_period IN ('calendar_year', 'referral')),
    specialty_id UUID REFERENCES specialties (id),
    notes TEXT NOT NULL DEFAULT '',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL,
    created_by UUID,
    updated_at TIMESTAMPTZ NOT NULL,
    CHECK (expiry_date IS NULL OR expiry_date >= referral_date)
);
CREATE INDEX referrals_patient_idx ON referrals (patient_id);
