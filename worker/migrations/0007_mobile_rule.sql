-- Mobiles are read by one rule now (worker/mobile.ts): after +86 a landline keeps its trunk zero
-- ('+86 10 6552 9988' is '01065529988', as dialled at home), and a number abroad is '00' and its
-- country code ('+1 415 555 0100' is '0014155550100', never the mainland mobile 14155550100).
-- The lookup rows are rebuilt from the mobiles as entered (crm_customers.mobiles, trimmed on
-- write); mainland mobiles read as before. test/worker/mobile.test.ts checks this against the rule.
DELETE FROM crm_customer_mobiles;

WITH RECURSIVE
  entered (corp_id, customer_id, raw) AS (
    SELECT c.corp_id, c.id, j.value FROM crm_customers c, json_each(c.mobiles) j WHERE j.type = 'text'
  ),
  -- Digits only, a character at a time: SQLite has no regular expressions.
  scan (corp_id, customer_id, raw, i, digits) AS (
    SELECT corp_id, customer_id, raw, 1, '' FROM entered
    UNION ALL
    SELECT corp_id, customer_id, raw, i + 1, digits || CASE WHEN substr(raw, i, 1) GLOB '[0-9]' THEN substr(raw, i, 1) ELSE '' END
    FROM scan WHERE i <= length(raw)
  ),
  -- Written with an international prefix: '+' or '00' after spaces or an opening bracket.
  numbers (corp_id, customer_id, digits, international, after_prefix) AS (
    SELECT corp_id, customer_id, digits,
      ltrim(raw, ' (（') GLOB '[+]*' OR ltrim(raw, ' (（') GLOB '00*',
      CASE WHEN digits GLOB '00*' THEN substr(digits, 3) ELSE digits END
    FROM scan WHERE i = length(raw) + 1
  ),
  -- `digits` holds digits only, so a length and a prefix say "an 11-digit mobile 1[3-9]…".
  normalised (corp_id, customer_id, mobile) AS (
    SELECT corp_id, customer_id, CASE
      WHEN NOT international THEN
        CASE WHEN length(digits) = 13 AND digits GLOB '861[3-9]*' THEN substr(digits, 3) ELSE digits END
      WHEN after_prefix = '' THEN ''
      WHEN after_prefix NOT GLOB '86*' THEN '00' || after_prefix
      WHEN substr(after_prefix, 3) = '' OR substr(after_prefix, 3) GLOB '0*'
        OR (length(after_prefix) = 13 AND after_prefix GLOB '861[3-9]*') THEN substr(after_prefix, 3)
      ELSE '0' || substr(after_prefix, 3)
    END
    FROM numbers
  )
INSERT OR IGNORE INTO crm_customer_mobiles (corp_id, mobile, customer_id)
SELECT corp_id, mobile, customer_id FROM normalised WHERE mobile <> '';
