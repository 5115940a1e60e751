/**
 * @module
 * Starting a reconciliation for one app, from the admin route or the scheduled job.
 */
import type { AppServices } from '../services.ts';
import { reconcile, type ReconcileRun } from './reconcile.ts';

export async function startReconcile(
  services: AppServices,
  trigger: ReconcileRun['trigger'],
  startedBy: string | null,
): Promise<{ run: ReconcileRun; alreadyRunning: boolean; finished: Promise<ReconcileRun> | undefined }> {
  const { app, config, reconcileLog } = services;
  const { run, alreadyRunning } = await reconcileLog.start(trigger, startedBy, Date.now());
  if (alreadyRunning) return { run, alreadyRunning, finished: undefined };
  const finished = reconcile(
    { ...run },
    { app, client: services.wecom, crm: services.crm, store: services.store, log: reconcileLog, autoCreate: config.autoCreateCustomers },
  );
  return { run, alreadyRunning, finished };
}
