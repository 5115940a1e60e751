-- "Revoke all sessions" is one increment: each session records the generation it was created
-- under, and the identity guard (which loads this row on every request anyway) refuses a session
-- whose generation is no longer the user's. Deactivating a member increments it too, so sessions
-- from before a deactivation never come back if org sync later reactivates the member.
ALTER TABLE users ADD COLUMN session_generation INTEGER NOT NULL DEFAULT 0;
