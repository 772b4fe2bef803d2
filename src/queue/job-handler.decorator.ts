import { SetMetadata } from '@nestjs/common';
import type { JobName } from './jobs.js';

export const JOB_HANDLER = 'niix:job-handler';
export const JOB_EXHAUSTED_HANDLER = 'niix:job-exhausted-handler';

/** Marks the method that runs a job. Exactly one per job name, or start-up fails. */
export const OnJob = (name: JobName) => SetMetadata(JOB_HANDLER, name);

/** Marks the method called once a job has failed its last attempt (transient faults that never cleared). */
export const OnJobExhausted = (name: JobName) => SetMetadata(JOB_EXHAUSTED_HANDLER, name);

/** Lets a handler report progress (0..100) of long work. */
export interface JobContext {
  attempt: number;
  progress(percent: number): Promise<void>;
}
