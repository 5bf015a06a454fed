-- The patient list's default order (family name, given name, record number) read from an
-- index, so the first page of 100,000 patients needs no sort of them all.
CREATE INDEX patients_name_order_idx ON patients (lower(family_name), lower(given_name), mrn);
