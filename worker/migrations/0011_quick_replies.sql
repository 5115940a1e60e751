-- Quick replies (话术): a library of messages members send into a chat from the sidebar.
-- `department_id` NULL is a corp-wide reply (admins write those); otherwise the reply belongs to
-- that department and is read by members of it and of every department below it, and written by
-- admins and by managers whose departments (and below) include it (worker/replies/access.ts).
-- `msgtype` is how it is sent (ww.sendChatMessage): `text` uses `content`; `news` (a link card)
-- uses `link`, `link_title`, `link_desc` and `img_url`. Texts may hold `{variable}`s
-- (worker/replies/template.ts), filled by the sidebar from the chat it is in.
CREATE TABLE quick_replies (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  corp_id TEXT NOT NULL,
  department_id INTEGER,
  group_name TEXT NOT NULL,
  title TEXT NOT NULL,
  msgtype TEXT NOT NULL CHECK (msgtype IN ('text', 'news')),
  content TEXT NOT NULL DEFAULT '',
  link TEXT NOT NULL DEFAULT '',
  link_title TEXT NOT NULL DEFAULT '',
  link_desc TEXT NOT NULL DEFAULT '',
  img_url TEXT NOT NULL DEFAULT '',
  -- Usage, so the library can be pruned: each send or copy the sidebar reports.
  sent_count INTEGER NOT NULL DEFAULT 0,
  copied_count INTEGER NOT NULL DEFAULT 0,
  last_used_at INTEGER,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_by TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX quick_replies_scope ON quick_replies (corp_id, department_id, group_name);
