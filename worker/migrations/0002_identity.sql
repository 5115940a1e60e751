-- This product's own users, departments and roles. WeCom says who a member is;
-- these tables decide what they may do.
CREATE TABLE users (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  corp_id TEXT NOT NULL,
  -- NULL for a user an admin created by mobile before their first login.
  wecom_userid TEXT,
  name TEXT NOT NULL DEFAULT '',
  mobile TEXT,
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  last_login_at INTEGER,
  UNIQUE (corp_id, wecom_userid)
);
CREATE INDEX users_mobile ON users (corp_id, mobile);

CREATE TABLE departments (
  corp_id TEXT NOT NULL,
  id INTEGER NOT NULL,
  name TEXT NOT NULL,
  parent_id INTEGER,
  sort_order INTEGER NOT NULL DEFAULT 0,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (corp_id, id)
);

CREATE TABLE user_departments (
  user_id INTEGER NOT NULL REFERENCES users (id),
  corp_id TEXT NOT NULL,
  department_id INTEGER NOT NULL,
  is_leader INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, department_id)
);
CREATE INDEX user_departments_department ON user_departments (corp_id, department_id);

CREATE TABLE roles (
  name TEXT PRIMARY KEY,
  description TEXT NOT NULL
);
INSERT INTO roles (name, description) VALUES
  ('admin', 'Everything, including role assignment and org sync'),
  ('manager', 'All contacts and customers in their departments and below'),
  ('sales', 'Contacts they follow, and customers they own or are bound through their contacts'),
  ('viewer', 'Read only');

CREATE TABLE user_roles (
  user_id INTEGER NOT NULL REFERENCES users (id),
  role TEXT NOT NULL REFERENCES roles (name),
  granted_by TEXT NOT NULL,
  granted_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, role)
);

-- Long-running admin jobs (org sync, reconciliation): one row per run, updated while it runs.
CREATE TABLE job_runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  corp_id TEXT NOT NULL,
  agent_id TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('org_sync', 'reconcile')),
  trigger TEXT NOT NULL CHECK (trigger IN ('manual', 'scheduled')),
  started_by TEXT,
  status TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'failed')),
  phase TEXT NOT NULL DEFAULT 'starting',
  done INTEGER NOT NULL DEFAULT 0,
  total INTEGER NOT NULL DEFAULT 0,
  -- JSON object of the job's counters, e.g. { "created": 3, "deactivated": 1 }
  counts TEXT NOT NULL DEFAULT '{}',
  failed INTEGER NOT NULL DEFAULT 0,
  -- JSON array of { subject, reason }
  failures TEXT NOT NULL DEFAULT '[]',
  error TEXT,
  started_at INTEGER NOT NULL,
  finished_at INTEGER
);
CREATE INDEX job_runs_recent ON job_runs (corp_id, agent_id, kind, id DESC);
