/**
 * @module
 * How a long job runs as durable steps (Cloudflare Workflows, jobs/workflows.ts): each step does a
 * bounded piece (one page of WeCom results and its D1 writes), saves the run's progress in
 * `job_runs`, and returns the run as it left it. The engine keeps every step's result, so a
 * restarted or retried run replays finished steps from their results and resumes at the one that
 * failed; the job code between steps only folds those results and must stay deterministic.
 *
 * A step throws for what waiting can fix (WeCom's rate limits 45009/45033, -1, timeouts, 5xx,
 * D1 hiccups): the engine retries it with exponential backoff. What waiting cannot fix (a
 * configuration error, a refused parameter) fails the run at once, with WeCom's reason.
 */
import { NonRetryableError } from 'cloudflare:workflows';
import type { WeComApp } from '../env.ts';
import { log } from '../log.ts';
import { WeComError, WeComTransportError } from '../wecom/errors.ts';
import type { QueryMeter } from './counted-d1.ts';
import { reasonOf, type JobRun, type RunLog } from './runs.ts';

/**
 * 10 tries, 15 s doubling: 15 s … 64 min between the last two, about 2 h 8 min in all. A minute-window
 * block of WeCom's frequency limit lasts 60 s and an hour-window block an hour; both are outlasted.
 */
export const STEP_RETRIES = { limit: 10, delay: '15 seconds', backoff: 'exponential' } as const;
/** A step makes at most a few dozen WeCom calls: minutes only if WeCom hangs on every one. */
export const STEP_TIMEOUT = '10 minutes';

/** What every step returns: the run as the step left it (and whatever the next steps need). */
export interface StepResult<Counts extends Record<string, number>> {
  run: JobRun<Counts>;
}

/** What a job's body returns when its run goes on in another Workflow instance (`JobSteps.handOver`). */
export interface HandedOver<Counts extends Record<string, number>> {
  handedOver: true;
  run: JobRun<Counts>;
}

/**
 * The step runner a job is written against: `step.do` with this product's retry policy. The
 * runner saves the returned run to `job_runs` (progress, counts, and the step's own meter), so
 * an admin sees every finished step.
 */
export interface JobSteps<Counts extends Record<string, number>> {
  do<T extends StepResult<Counts>>(name: string, work: () => Promise<T>): Promise<T>;
  /**
   * Whether this instance has taken its share of steps (`JOB_STEPS_PER_INSTANCE`): the job then
   * hands over at the next point its position can be written down.
   */
  spent(): boolean;
  /** Inside a step's work: the subrequests it may still make (STEP_SUBREQUEST_BUDGET less those made). */
  subrequestsLeft(): number;
  /** Ends this instance's part: the run goes on in a new instance, which starts from `resume`. */
  handOver(run: JobRun<Counts>, resume: unknown): Promise<HandedOver<Counts>>;
}

/**
 * Counted on every run: how many steps it took, its WeCom calls and (with `CRM=http`) CRM calls,
 * the most WeCom calls, subrequests (both) and D1 queries any one step made, and how many
 * Workflow instances ran it one after another.
 */
export const STEP_METER = { steps: 0, wecomCalls: 0, crmCalls: 0, maxStepWecomCalls: 0, maxStepSubrequests: 0, maxStepD1Queries: 0, instances: 1 };

/**
 * Steps one Workflow instance takes before the run goes on in a new one. An instance may take at
 * most 1,024 steps on Workers Free (10,000 by default on Workers Paid) and keeps every step's
 * result; a reconciliation of a 100,000-contact corp takes thousands. The rest leaves room for a
 * job's last steps after the point it checks.
 */
export const STEPS_PER_INSTANCE = 900;

/** `JOB_STEPS_PER_INSTANCE` as a number of steps: the default when unset; at least 10, so every instance moves the run on. */
export function stepsPerInstance(value: string | undefined): number {
  const steps = Number(value);
  if (value === undefined || value.trim() === '' || !Number.isInteger(steps)) return STEPS_PER_INSTANCE;
  return Math.max(10, steps);
}

/**
 * The subrequests a step may make: WeCom and company-CRM calls of the step's own invocation
 * (Workers Free allows 50 per invocation). Token broker calls come on top: at most two per step.
 */
export const STEP_SUBREQUEST_BUDGET = 50;

/**
 * The D1 queries a step may run: Workers Paid allows 1,000 per invocation; half of it leaves room
 * for a page that binds or creates more customers than usual.
 */
export const STEP_D1_QUERY_BUDGET = 500;

/** Counts the WeCom calls, CRM calls and D1 queries of the isolate; a step reads the differences. */
export interface CallMeter extends QueryMeter {
  calls: number;
  crmCalls: number;
}

/** Errors after which the same call may well succeed later: the engine retries the step. */
export function transient(error: unknown): boolean {
  if (error instanceof WeComError) return error.kind === 'rate_limited' || error.kind === 'busy' || error.kind === 'token';
  if (error instanceof WeComTransportError) return true;
  return !(error instanceof NonRetryableError);
}

/** A WeCom refusal that fails the whole run (the visible range, a permission, the trusted IP). */
export function fatal(error: unknown): never {
  if (error instanceof NonRetryableError) throw error;
  if (!transient(error)) throw new NonRetryableError(reasonOf(error));
  // The message crosses the step boundary; the class does not.
  throw new Error(reasonOf(error));
}

/** The run stopped being ours: an admin cancelled it, or a new start closed it as lost. */
export const CANCELLED = 'the run is no longer running (cancelled)';

/** Where a run goes on when an instance has taken its share of steps. */
export interface RunSuccession<Counts extends Record<string, number>> {
  /** Steps this instance may take (`stepsPerInstance`). */
  steps: number;
  /** Starts the instance that goes on with `run` from `resume` (jobs/engine.ts `JobEngine.resume`). */
  start(run: JobRun<Counts>, resume: unknown): Promise<void>;
}

/**
 * Steps for one run: before its work, each step checks that the run was not cancelled (a
 * terminated instance may still be inside a step); after it, it meters the step's WeCom calls and
 * saves the run.
 */
export function runSteps<Counts extends Record<string, number>>(
  step: WorkflowStepLike,
  runs: RunLog<Counts>,
  runId: number,
  meter: CallMeter,
  succession: RunSuccession<Counts>,
): JobSteps<Counts> {
  // Counted again as the engine replays finished steps, so every replay takes the same turns.
  let taken = 0;
  // The meter's subrequests when the step now working began.
  let stepStart = 0;
  const subrequests = () => meter.calls + meter.crmCalls;
  const steps: JobSteps<Counts> = {
    spent: () => taken >= succession.steps,
    subrequestsLeft: () => STEP_SUBREQUEST_BUDGET - (subrequests() - stepStart),
    async handOver(run, resume) {
      // The run is saved with its next instance's number first (stop and alive look it up from the
      // row); the instance is started by a step of its own, so a retry never starts a second one.
      const saved = await steps.do('hand over', async () => {
        const next = structuredClone(run);
        const counts = next.counts as Record<string, number>;
        counts.instances = (counts.instances ?? 1) + 1;
        return { run: next };
      });
      await step.do('start the next instance', { retries: STEP_RETRIES, timeout: STEP_TIMEOUT }, async () => {
        await succession.start(saved.run, resume);
        return null;
      });
      log('info', 'job.handed_over', { kind: run.kind, id: runId, ...saved.run.counts });
      return { handedOver: true, run: saved.run };
    },
    do: <T extends StepResult<Counts>>(name: string, work: () => Promise<T>) => {
      taken += 1;
      return step.do(name, { retries: STEP_RETRIES, timeout: STEP_TIMEOUT }, async () => {
        const current = await runs.get(runId);
        if (current?.status !== 'running') throw new NonRetryableError(CANCELLED);
        const before = meter.calls;
        const crmBefore = meter.crmCalls;
        const queriesBefore = meter.d1Queries;
        stepStart = subrequests();
        const result = await work();
        const calls = meter.calls - before;
        const crmCalls = meter.crmCalls - crmBefore;
        // The step's own progress save below comes on top: one more query.
        const queries = meter.d1Queries - queriesBefore;
        const counts = result.run.counts as Record<string, number>;
        counts.steps = (counts.steps ?? 0) + 1;
        counts.wecomCalls = (counts.wecomCalls ?? 0) + calls;
        counts.crmCalls = (counts.crmCalls ?? 0) + crmCalls;
        counts.maxStepWecomCalls = Math.max(counts.maxStepWecomCalls ?? 0, calls);
        counts.maxStepSubrequests = Math.max(counts.maxStepSubrequests ?? 0, calls + crmCalls);
        counts.maxStepD1Queries = Math.max(counts.maxStepD1Queries ?? 0, queries);
        if (calls + crmCalls > STEP_SUBREQUEST_BUDGET || queries > STEP_D1_QUERY_BUDGET) {
          log('warn', 'job.step_over_budget', { kind: result.run.kind, id: runId, step: name, wecomCalls: calls, crmCalls, d1Queries: queries });
        }
        await runs.save(result.run);
        return result;
      });
    },
  };
  return steps;
}

/** The slice of the engine's `WorkflowStep` the jobs use. */
export interface WorkflowStepLike {
  do<T>(name: string, config: { retries: typeof STEP_RETRIES; timeout: string }, work: () => Promise<T>): Promise<T>;
}

/**
 * Runs `body` (which saves progress after every step) and records the outcome in a last step:
 * succeeded with its counts, or failed with the reason; a cancelled run is left as the admin left it.
 */
export async function runJob<Counts extends Record<string, number>>(
  run: JobRun<Counts>,
  runs: RunLog<Counts>,
  steps: JobSteps<Counts>,
  app: Pick<WeComApp, 'corpId'>,
  body: (run: JobRun<Counts>) => Promise<JobRun<Counts> | HandedOver<Counts>>,
): Promise<JobRun<Counts>> {
  let last: JobRun<Counts>;
  try {
    const outcome = await body(run);
    // The next instance finishes the run.
    if ('handedOver' in outcome) return outcome.run;
    last = outcome;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (reason.includes(CANCELLED)) {
      log('info', 'job.cancelled', { kind: run.kind, corpId: app.corpId, id: run.id });
      return run;
    }
    return finish(runs, app, run.id, (current) => ({ ...current, status: 'failed', error: reason, finishedAt: Date.now() }), steps);
  }
  return finish(runs, app, run.id, () => ({ ...last, status: 'succeeded', phase: 'done', finishedAt: Date.now() }), steps);
}

async function finish<Counts extends Record<string, number>>(
  runs: RunLog<Counts>,
  app: Pick<WeComApp, 'corpId'>,
  runId: number,
  outcome: (current: JobRun<Counts>) => JobRun<Counts>,
  steps: JobSteps<Counts>,
): Promise<JobRun<Counts>> {
  try {
    const { run } = await steps.do('finish', async () => {
      const current = await runs.get(runId);
      if (!current) throw new NonRetryableError(`job run ${runId} is gone`);
      const next = outcome(current);
      log(next.status === 'succeeded' ? 'info' : 'error', 'job.finished', { kind: next.kind, corpId: app.corpId, id: next.id, status: next.status, failed: next.failed, ...next.counts });
      return { run: next };
    });
    return run;
  } catch (error) {
    // Cancelled between the last step and this one.
    log('info', 'job.not_finished', { id: runId, message: error instanceof Error ? error.message : String(error) });
    return (await runs.get(runId)) as JobRun<Counts>;
  }
}
