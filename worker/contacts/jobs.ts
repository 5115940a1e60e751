/**
 * @module
 * Starting a reconciliation for one app, from the admin route or the scheduled job.
 */
import { crmFor } from '../crm/index.ts';
import type { Config, WeComApp } from '../env.ts';
import type { Env } from '../bindings.ts';
import { wecomClientFor } from '../wecom/tokens.ts';
import { createReconcileLog, reconcile, type ReconcileRun } from './reconcile.ts';
import { createContactStore } from './store.ts';

export async function startReconcile(
  env: Env,
  config: Config,
  app: WeComApp,
  trigger: ReconcileRun['trigger'],
  startedBy: string | null,
): Promise<{ run: ReconcileRun; alreadyRunning: boolean; finished: Promise<ReconcileRun> | undefined }> {
  const runs = createReconcileLog(env.DB, app);
  const { run, alreadyRunning } = await runs.start(trigger, startedBy, Date.now());
  if (alreadyRunning) return { run, alreadyRunning, finished: undefined };
  const finished = reconcile(
    { ...run },
    { app, client: wecomClientFor(env, config, app), crm: crmFor(env, config), store: createContactStore(env.DB), log: runs, autoCreate: config.autoCreateCustomers },
  );
  return { run, alreadyRunning, finished };
}
