/**
 * @module
 * The Workflow classes (wrangler.toml `[[workflows]]`): one per job kind. Each builds the app's
 * services from the bindings, as the fetch handler does, and runs the job's steps.
 */
import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from 'cloudflare:workers';
import type { Env } from '../bindings.ts';
import { startReconcile } from '../contacts/jobs.ts';
import { reconcile, type ReconcileResume, type ReconcileRun } from '../contacts/reconcile.ts';
import { configOf, findApp } from '../env.ts';
import { runOrgSync, type OrgSyncResume, type OrgSyncRun } from '../identity/org-sync.ts';
import { orgSyncPolicy } from '../identity/services.ts';
import { log } from '../log.ts';
import { appServices, type AppServices } from '../services.ts';
import { countedD1 } from './counted-d1.ts';
import type { JobParams } from './engine.ts';
import type { JobEngine } from './runs.ts';
import { runSteps, STEP_RETRIES, stepsPerInstance, type CallMeter, type RunSuccession, type WorkflowStepLike } from './steps.ts';

/** The WeCom calls, CRM calls and D1 queries this isolate made; each step meters its own share (jobs/steps.ts). */
const meter: CallMeter = { calls: 0, crmCalls: 0, d1Queries: 0 };

/** The app's services with every WeCom call, CRM call and D1 query counted on `meter`; undefined when the app is no longer configured. */
export function meteredServices(env: Env, app: { corpId: string; agentId: string }, meter: CallMeter): AppServices | undefined {
  const config = configOf(env);
  const configured = config.ok ? findApp(config.config, app.corpId, app.agentId) : undefined;
  if (!config.ok || !configured) return undefined;
  const counted =
    (key: 'calls' | 'crmCalls'): typeof fetch =>
    (input, init) => {
      meter[key]++;
      return fetch(input, init);
    };
  return appServices({ ...env, DB: countedD1(env.DB, meter) }, config.config, configured, { fetch: counted('calls'), crmFetch: counted('crmCalls') });
}

function servicesFor(env: Env, params: JobParams): AppServices | undefined {
  const services = meteredServices(env, params, meter);
  if (!services) log('error', 'job.app_gone', { corpId: params.corpId, agentId: params.agentId, id: params.run.id });
  return services;
}

// `WorkflowStep.do`'s overloads want step results typed as RPC-serializable; ours are plain JSON.
const stepOf = (step: WorkflowStep) => step as unknown as WorkflowStepLike;

/** How a run goes on in its next instance when this one has taken its share of steps. */
function succession<Counts extends Record<string, number>>(env: Env, engine: JobEngine<Counts>, params: JobParams): RunSuccession<Counts> {
  return { steps: stepsPerInstance(env.JOB_STEPS_PER_INSTANCE), start: (run, resume) => engine.resume(run, resume, params.then) };
}

export class OrgSyncWorkflow extends WorkflowEntrypoint<Env, JobParams> {
  override async run(event: Readonly<WorkflowEvent<JobParams>>, step: WorkflowStep): Promise<unknown> {
    const services = servicesFor(this.env, event.payload);
    if (!services) return undefined;
    const { app, orgSyncLog } = services;
    const start = event.payload.run as OrgSyncRun;
    const steps = runSteps(stepOf(step), orgSyncLog, start.id, meter, succession(this.env, services.orgSyncJobs, event.payload));
    const deps = { app, client: services.wecom, users: services.users, log: orgSyncLog, policy: orgSyncPolicy(services) };
    const run = await runOrgSync(start, deps, steps, event.payload.resume as OrgSyncResume | undefined);
    if (run.status === 'succeeded' && event.payload.then === 'reconcile') {
      await step.do('then reconcile', { retries: STEP_RETRIES }, async () => {
        await startReconcile(services, start.trigger, start.startedBy);
        return null;
      });
    }
    return { id: run.id, status: run.status };
  }
}

export class ReconcileWorkflow extends WorkflowEntrypoint<Env, JobParams> {
  override async run(event: Readonly<WorkflowEvent<JobParams>>, step: WorkflowStep): Promise<unknown> {
    const services = servicesFor(this.env, event.payload);
    if (!services) return undefined;
    const { app, config, reconcileLog } = services;
    const start = event.payload.run as ReconcileRun;
    const deps = { app, client: services.wecom, crm: services.crm, store: services.store, mappedSync: services.mappedSync, profiles: services.profiles, log: reconcileLog, autoCreate: config.autoCreateCustomers };
    const steps = runSteps(stepOf(step), reconcileLog, start.id, meter, succession(this.env, services.reconcileJobs, event.payload));
    const run = await reconcile(start, deps, steps, event.payload.resume as ReconcileResume | undefined);
    return { id: run.id, status: run.status };
  }
}
