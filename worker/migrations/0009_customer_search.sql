-- Customer search without a full scan (worker/crm/builtin.ts `find`). Free text matches a
-- customer when it is a substring of the name or the company (ASCII case ignored), or when its
-- digits are a substring of one of the customer's normalised mobiles. LIKE '%text%' can use no
-- ordinary index, so two FTS5 tables with the trigram tokenizer index every 3-character window:
-- a phrase query of 3 or more characters finds the candidate rows through the index, in any
-- script (the default tokenizer would keep a Chinese name as one word), and `find` re-checks the
-- candidates with the same LIKE as before, so the index only narrows and never changes an answer.
-- Text of 1-2 characters has no trigram: migration 0015 indexes it in a table of its own
-- (crm_customer_grams).
--
-- Both are external-content tables: they store the index only and read the text from their
-- table by rowid, and triggers keep them in step with every write, batch or not. Neither table
-- declares an INTEGER PRIMARY KEY, so were their rowids ever renumbered (a VACUUM),
-- INSERT INTO crm_customer_search (crm_customer_search) VALUES ('rebuild') rebuilds the index
-- from the table (and the same for crm_mobile_search).
CREATE VIRTUAL TABLE crm_customer_search USING fts5 (
  name, company, content = 'crm_customers', content_rowid = 'rowid', tokenize = 'trigram'
);

CREATE TRIGGER crm_customer_search_insert AFTER INSERT ON crm_customers BEGIN
  INSERT INTO crm_customer_search (rowid, name, company) VALUES (new.rowid, new.name, new.company);
END;

CREATE TRIGGER crm_customer_search_delete AFTER DELETE ON crm_customers BEGIN
  INSERT INTO crm_customer_search (crm_customer_search, rowid, name, company) VALUES ('delete', old.rowid, old.name, old.company);
END;

-- Only a change of the text touches the index: a stage or owner change writes no index rows.
CREATE TRIGGER crm_customer_search_update AFTER UPDATE OF name, company ON crm_customers BEGIN
  INSERT INTO crm_customer_search (crm_customer_search, rowid, name, company) VALUES ('delete', old.rowid, old.name, old.company);
  INSERT INTO crm_customer_search (rowid, name, company) VALUES (new.rowid, new.name, new.company);
END;

CREATE VIRTUAL TABLE crm_mobile_search USING fts5 (
  mobile, content = 'crm_customer_mobiles', content_rowid = 'rowid', tokenize = 'trigram'
);

CREATE TRIGGER crm_mobile_search_insert AFTER INSERT ON crm_customer_mobiles BEGIN
  INSERT INTO crm_mobile_search (rowid, mobile) VALUES (new.rowid, new.mobile);
END;

CREATE TRIGGER crm_mobile_search_delete AFTER DELETE ON crm_customer_mobiles BEGIN
  INSERT INTO crm_mobile_search (crm_mobile_search, rowid, mobile) VALUES ('delete', old.rowid, old.mobile);
END;

CREATE TRIGGER crm_mobile_search_update AFTER UPDATE OF mobile ON crm_customer_mobiles BEGIN
  INSERT INTO crm_mobile_search (crm_mobile_search, rowid, mobile) VALUES ('delete', old.rowid, old.mobile);
  INSERT INTO crm_mobile_search (rowid, mobile) VALUES (new.rowid, new.mobile);
END;

-- Customers written before this migration.
INSERT INTO crm_customer_search (crm_customer_search) VALUES ('rebuild');
INSERT INTO crm_mobile_search (crm_mobile_search) VALUES ('rebuild');
