/** The GitHub workflows as parsed YAML, for the workflow tests. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';

const ROOT = path.resolve(__dirname, '..', '..');

export interface Step {
  readonly name?: string;
  readonly id?: string;
  readonly uses?: string;
  readonly if?: string;
  readonly run?: string;
  readonly env?: Record<string, string>;
  readonly with?: Record<string, string>;
}
export interface Job {
  readonly name?: string;
  readonly if?: string;
  readonly needs?: string | string[];
  readonly uses?: string;
  readonly with?: Record<string, string>;
  readonly environment?: string;
  readonly concurrency?: { group: string; 'cancel-in-progress': boolean };
  readonly outputs?: Record<string, string>;
  readonly steps?: Step[];
}
export interface Workflow {
  readonly on: Record<string, any>;
  readonly jobs: Record<string, Job>;
}

export function workflow(name: string): Workflow {
  return parse(fs.readFileSync(path.join(ROOT, '.github', 'workflows', name), 'utf8')) as Workflow;
}

export function step(job: Job, name: string): Step {
  const s = job.steps?.find((x) => x.name === name);
  assert.ok(s, `step "${name}"`);
  return s;
}

