/**
 * @module
 * The engine that runs jobs: one Cloudflare Workflow instance per run (jobs/workflows.ts), named
 * after the run so the run's row is enough to find, check or stop it.
 */
import { log } from '../log.ts';
import type { JobEngine, JobKind, JobRun } from './runs.ts';

/** What a job's Workflow instance starts from: the run as its row was written, and what follows it. */
export interface JobParams {
  corpId: string;
  agentId: string;
  run: JobRun<Record<string, number>>;
  /** A job to start when this one succeeds (the daily org sync is followed by reconciliation). */
  then?: JobKind;
}

/**
 * Unique per run even when test isolation resets D1's ids but not the engine's instances.
 * Workflow instance ids allow letters, digits, `-` and `_`, up to 100 characters.
 */
export function instanceId(run: Pick<JobRun<Record<string, number>>, 'kind' | 'id' | 'startedAt'>): string {
  return `${run.kind.replace('_', '-')}-${run.id}-${run.startedAt}`;
}

const FINISHED = new Set(['complete', 'errored', 'terminated', 'unknown']);

export function createWorkflowEngine<Counts extends Record<string, number>>(workflow: Workflow<JobParams>, app: { corpId: string; agentId: string }): JobEngine<Counts> {
  return {
    async start(run, then) {
      const params: JobParams = { corpId: app.corpId, agentId: app.agentId, run };
      if (then) params.then = then;
      await workflow.create({ id: instanceId(run), params });
    },
    async alive(run) {
      try {
        const { status } = await (await workflow.get(instanceId(run))).status();
        return !FINISHED.has(status);
      } catch {
        // No such instance: the run was started before jobs ran on Workflows, or its instance expired.
        return false;
      }
    },
    async stop(run) {
      try {
        await (await workflow.get(instanceId(run))).terminate();
      } catch (error) {
        // Already finished: the step that is running (if any) sees the cancelled row and stops.
        log('info', 'job.terminate_skipped', { kind: run.kind, id: run.id, message: String(error) });
      }
    },
  };
}
