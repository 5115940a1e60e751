/**
 * @module
 * The cron triggers of wrangler.toml `[triggers]`, by name. Pure, so scripts and the e2e suite fire
 * them by name too (`wrangler dev --test-scheduled`).
 */

/** Daily at 03:00 UTC (11:00 in China): org sync, then contact reconciliation. */
export const DAILY_CRON = '0 3 * * *';
/** Hourly, prune only: each run then deletes about an hour's worth of rows, in small statements. */
export const PRUNE_CRON = '17 * * * *';
/** Every five minutes at :03, :08 … :58: never on :00 or :30, when WeCom's message delivery is busiest (docs/wecom.md §7.2). */
export const REMINDER_CRON = '3,8,13,18,23,28,33,38,43,48,53,58 * * * *';
