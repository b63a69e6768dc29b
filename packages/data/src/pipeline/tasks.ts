import { DataError } from '../data-error';
import { runKeys, type RunPlan } from './run-plan';
import { runBuckets, runExtract, runFilter, type ClusterResult, type StageContext } from './stages';

/** One unit of parallel work: a stage of a run for one shard (extract, filter) or one LSH band (buckets). */
export interface StageTask {
  runId: string;
  stage: 'extract' | 'buckets' | 'filter';
  index: number;
}

/** The object whose presence marks a task done. */
export function taskDoneKey(task: StageTask): string {
  switch (task.stage) {
    case 'extract':
      return runKeys.extractReport(task.runId, task.index);
    case 'buckets':
      return runKeys.bandPairs(task.runId, task.index);
    case 'filter':
      return runKeys.filterReport(task.runId, task.index);
  }
}

export async function loadPlan(ctx: StageContext, runId: string): Promise<RunPlan> {
  const key = runKeys.plan(runId);
  if (!(await ctx.store.head(key))) throw new DataError('not_found', `run ${runId} has no plan`);
  return JSON.parse((await ctx.store.get(key)).toString('utf8')) as RunPlan;
}

/**
 * Runs one task unless it is already done. Tasks are deterministic and write whole objects, so running one
 * twice (a redelivered message, a worker that died after writing) writes the same bytes again.
 */
export async function runTask(ctx: StageContext, task: StageTask): Promise<'ran' | 'skipped'> {
  if (await ctx.store.head(taskDoneKey(task))) return 'skipped';
  const plan = await loadPlan(ctx, task.runId);
  switch (task.stage) {
    case 'extract':
      await runExtract(ctx, plan, task.index);
      break;
    case 'buckets':
      await runBuckets(ctx, plan, task.index);
      break;
    case 'filter': {
      const clusters = JSON.parse(
        (await ctx.store.get(runKeys.clusters(task.runId))).toString('utf8'),
      ) as ClusterResult;
      const removed = new Set<number>([...clusters.exactRemoved, ...clusters.nearRemoved].map(([o]) => o));
      await runFilter(ctx, plan, task.index, removed);
      break;
    }
  }
  return 'ran';
}

/** Runs a batch of independent tasks of one stage and resolves when all are done. */
export type TaskExecutor = (ctx: StageContext, tasks: readonly StageTask[]) => Promise<void>;

/** Runs tasks one after another in this process. */
export const inProcessExecutor: TaskExecutor = async (ctx, tasks) => {
  for (const task of tasks) await runTask(ctx, task);
};
