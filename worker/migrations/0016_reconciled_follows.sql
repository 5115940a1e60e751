-- Which relationships a reconciliation listed (worker/contacts/reconcile.ts): the start time of the
-- latest-started run whose `batch/get_by_user` page showed it. After a group of members' last
-- page, a run ends their active relationships it did not list, read from here rather than kept in
-- the run's memory, so a run may go on in another Workflow instance between any two pages.
ALTER TABLE contact_follows ADD COLUMN reconciled_at INTEGER;
