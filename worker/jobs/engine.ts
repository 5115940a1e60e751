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
  /** Where the run goes on, when an earlier instance handed it over (jobs/steps.ts `handOver`). */
  resume?: unknown;
}

/**
 * Unique per run even when test isolation resets D1's ids but not the engine's instances, and per
 * instance of a run that went on in more than one (`counts.instances`, saved before each starts).
 * Workflow instance ids allow letters, digits, `-` and `_`, up to 100 characters.
 */
export function instanceId(run: Pick<JobRun<Record<string, number>>, 'kind' | 'id' | 'startedAt' | 'counts'>): string {
  const instance = run.counts.instances ?? 1;
  return `${run.kind.replace('_', '-')}-${run.id}-${run.startedAt}${instance > 1 ? `-${instance}` : ''}`;
}

const FINISHED = new Set(['complete', 'errored', 'terminated', 'unknown']);

async function exists(workflow: Workflow<JobParams>, id: string): Promise<boolean> {
  try {
    await (await workflow.get(id)).status();
    return true;
  } catch {
    return false;
  }
}

export function createWorkflowEngine<Counts extends Record<string, number>>(workflow: Workflow<JobParams>, app: { corpId: string; agentId: string }): JobEngine<Counts> {
  return {
    async start(run, then) {
      const params: JobParams = { corpId: app.corpId, agentId: app.agentId, run };
      if (then) params.then = then;
      await workflow.create({ id: instanceId(run), params });
    },
    async resume(run, resume, then) {
      const id = instanceId(run);
      const params: JobParams = { corpId: app.corpId, agentId: app.agentId, run, resume };
      if (then) params.then = then;
      try {
        await workflow.create({ id, params });
      } catch (error) {
        // Started already by an earlier try of the step that starts it.
        if (!(await exists(workflow, id))) throw error;
      }
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
