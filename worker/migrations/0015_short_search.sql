-- Customer search for text of 1 or 2 characters (worker/crm/builtin.ts `find`): a surname (`陈`), a
-- 2-character given name (`王伟`), a short company. The trigram tables of 0009 have nothing for
-- text that short, so `find` used to walk a corp's customers newest first until enough matched,
-- reading all of them for a rare or absent text. This table holds, for each customer, every
-- distinct 1- and 2-character substring ("gram") of its name and of its company, lowercased with
-- SQLite's lower(), which folds ASCII only, as LIKE ignores ASCII case only. Text of 1-2
-- characters matches a customer's name or company exactly when its lowercase is one of that
-- customer's grams, so `find` looks the rows up here, and still re-checks them with the same LIKE
-- as before: the table narrows and never decides.
--
-- Every position of the text is indexed, however long, so no name is too long to be found: the
-- positions come from a JSON array of length(text) zeros built in place (hex(zeroblob(n)) is n
-- '00' pairs), since triggers cannot use a recursive CTE; length() and substr() count characters,
-- code points, as `indexable` (builtin.ts) does. The CRM holds names and companies to 200 characters
-- (MAX_NAME), so a customer has at most 200 + 199 distinct grams of each, 798 rows here, and
-- about 25 for a typical Chinese name and company.
--
-- Keyed (corp, gram, customer rowid) without a rowid of its own: one B-tree that answers "which
-- customers of this corp have this gram" and is also where a trigger deletes one customer's rows,
-- gram by gram, so no second index is needed. Like the FTS5 tables of 0009 it refers to
-- crm_customers by rowid, which no UPDATE here changes; after a VACUUM renumbered rowids,
-- DELETE FROM crm_customer_grams and the backfill at the end of this file rebuild it. A plain
-- table, which `wrangler d1 export` accepts; but an export does not carry those rowids either, so
-- after an import the table is dropped and made again from this file (README, Customer search).
CREATE TABLE crm_customer_grams (
  corp_id TEXT NOT NULL,
  gram TEXT NOT NULL,
  customer_rowid INTEGER NOT NULL,
  PRIMARY KEY (corp_id, gram, customer_rowid)
) WITHOUT ROWID;

CREATE TRIGGER crm_customer_grams_insert AFTER INSERT ON crm_customers BEGIN
  INSERT INTO crm_customer_grams (corp_id, gram, customer_rowid)
  SELECT DISTINCT new.corp_id, lower(substr(t.text, p.key + 1, n.value)), new.rowid
  FROM (SELECT new.name AS text UNION ALL SELECT new.company) t,
       json_each('[' || substr(replace(hex(zeroblob(length(t.text))), '00', ',0'), 2) || ']') p,
       json_each('[1,2]') n
  WHERE p.key + n.value <= length(t.text);
END;

CREATE TRIGGER crm_customer_grams_delete AFTER DELETE ON crm_customers BEGIN
  DELETE FROM crm_customer_grams WHERE corp_id = old.corp_id AND customer_rowid = old.rowid AND gram IN (
    SELECT lower(substr(t.text, p.key + 1, n.value))
    FROM (SELECT old.name AS text UNION ALL SELECT old.company) t,
         json_each('[' || substr(replace(hex(zeroblob(length(t.text))), '00', ',0'), 2) || ']') p,
         json_each('[1,2]') n
    WHERE p.key + n.value <= length(t.text)
  );
END;

-- Only the grams that changed are written: a new company leaves the name's rows alone, and a stage
-- or owner change (no change of name or company) writes none. A customer's corp and rowid never
-- change, so old and new name the same customer's rows.
CREATE TRIGGER crm_customer_grams_update AFTER UPDATE OF name, company ON crm_customers BEGIN
  DELETE FROM crm_customer_grams WHERE corp_id = old.corp_id AND customer_rowid = old.rowid AND gram IN (
    SELECT lower(substr(t.text, p.key + 1, n.value))
    FROM (SELECT old.name AS text UNION ALL SELECT old.company) t,
         json_each('[' || substr(replace(hex(zeroblob(length(t.text))), '00', ',0'), 2) || ']') p,
         json_each('[1,2]') n
    WHERE p.key + n.value <= length(t.text)
    EXCEPT
    SELECT lower(substr(t.text, p.key + 1, n.value))
    FROM (SELECT new.name AS text UNION ALL SELECT new.company) t,
         json_each('[' || substr(replace(hex(zeroblob(length(t.text))), '00', ',0'), 2) || ']') p,
         json_each('[1,2]') n
    WHERE p.key + n.value <= length(t.text)
  );
  INSERT INTO crm_customer_grams (corp_id, gram, customer_rowid)
  SELECT new.corp_id, gram, new.rowid FROM (
    SELECT lower(substr(t.text, p.key + 1, n.value)) AS gram
    FROM (SELECT new.name AS text UNION ALL SELECT new.company) t,
         json_each('[' || substr(replace(hex(zeroblob(length(t.text))), '00', ',0'), 2) || ']') p,
         json_each('[1,2]') n
    WHERE p.key + n.value <= length(t.text)
    EXCEPT
    SELECT lower(substr(t.text, p.key + 1, n.value))
    FROM (SELECT old.name AS text UNION ALL SELECT old.company) t,
         json_each('[' || substr(replace(hex(zeroblob(length(t.text))), '00', ',0'), 2) || ']') p,
         json_each('[1,2]') n
    WHERE p.key + n.value <= length(t.text)
  );
END;

-- Customers written before this migration, in key order (half the time of unordered inserts).
INSERT INTO crm_customer_grams (corp_id, gram, customer_rowid)
SELECT DISTINCT t.corp_id, lower(substr(t.text, p.key + 1, n.value)), t.customer_rowid
FROM (SELECT corp_id, rowid AS customer_rowid, name AS text FROM crm_customers
      UNION ALL SELECT corp_id, rowid, company FROM crm_customers) t,
     json_each('[' || substr(replace(hex(zeroblob(length(t.text))), '00', ',0'), 2) || ']') p,
     json_each('[1,2]') n
WHERE p.key + n.value <= length(t.text)
ORDER BY 1, 2, 3;
