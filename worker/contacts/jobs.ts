/**
 * @module
 * Starting a reconciliation for one app, from the admin route or the scheduled job.
 */
import { startRun, type StartedRun } from '../jobs/runs.ts';
import type { AppServices } from '../services.ts';
import { reconcile, type ReconcileCounts, type ReconcileRun } from './reconcile.ts';

export function startReconcile(services: AppServices, trigger: ReconcileRun['trigger'], startedBy: string | null): Promise<StartedRun<ReconcileCounts>> {
  const { app, config, reconcileLog } = services;
  const deps = { app, client: services.wecom, crm: services.crm, store: services.store, log: reconcileLog, autoCreate: config.autoCreateCustomers };
  return startRun(reconcileLog, trigger, startedBy, (run) => reconcile(run, deps));
}
