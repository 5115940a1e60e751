-- Timeline items become facts the SPA words in the reader's language (wire.ts TimelineDetail):
-- a JSON `detail` replaces the English `summary` in touchpoints and in the built-in CRM's history.
ALTER TABLE touchpoints ADD COLUMN detail TEXT NOT NULL DEFAULT '{}';
ALTER TABLE crm_history ADD COLUMN detail TEXT NOT NULL DEFAULT '{}';

-- What the old summaries said, as facts.
UPDATE touchpoints SET detail = json_object('reason', summary)
  WHERE summary IN ('bound_by_unionid', 'bound_by_mobile', 'created', 'reconciled', 'transfer');
UPDATE touchpoints SET detail = json_object('state', substr(summary, 7))
  WHERE kind = 'contact_added' AND summary LIKE 'state=%';
UPDATE touchpoints SET detail = json_object('name', summary)
  WHERE kind IN ('bound', 'unbound') AND summary <> '' AND detail = '{}';
UPDATE crm_history SET detail = json_object('text', summary) WHERE kind = 'note';
UPDATE crm_history SET detail = json_object('name', substr(summary, 9))
  WHERE kind = 'customer_created' AND summary LIKE 'Created %';

ALTER TABLE touchpoints DROP COLUMN summary;
ALTER TABLE crm_history DROP COLUMN summary;
