-- Patient search: the trigram index yields record-number sequences; this index answers
-- "is it active?" and the name sort keys for each without reading the row, so counting
-- a broad search and choosing its page touch only the index (about half the time at
-- 100,000 patients). The id is there so the page's rows are then fetched by key.
CREATE INDEX patients_search_cover_idx ON patients (mrn_seq, active, lower(family_name), lower(given_name), mrn, id);
