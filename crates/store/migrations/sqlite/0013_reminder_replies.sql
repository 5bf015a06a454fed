-- Answers to reminders: a patient confirms or cancels from the link in a reminder (or by
-- replying C or X to its SMS). Kept on the participant, since in a group session each
-- patient answers for their own place; a link works until it has been answered once.

ALTER TABLE appointment_participants ADD COLUMN reply TEXT CHECK (reply IN ('confirmed', 'cancelled'));
ALTER TABLE appointment_participants ADD COLUMN replied_at INTEGER;
-- Finding the reminder an SMS reply answers: the patient's latest reminders by phone.
CREATE INDEX messages_sms_reminder_idx ON messages (recipient, created_at) WHERE channel = 'sms' AND template = 'reminder';
