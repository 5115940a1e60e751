/**
 * @module
 * Starting a reconciliation for one app, from the admin route or after the scheduled org sync.
 */
import { startRun, type StartedRun } from '../jobs/runs.ts';
import type { AppServices } from '../services.ts';
import type { ReconcileCounts, ReconcileRun } from './reconcile.ts';

export function startReconcile(services: AppServices, trigger: ReconcileRun['trigger'], startedBy: string | null): Promise<StartedRun<ReconcileCounts>> {
  return startRun(services.reconcileLog, services.reconcileJobs, trigger, startedBy);
}
