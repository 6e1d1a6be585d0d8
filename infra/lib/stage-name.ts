/**
 * Stage names: one isolated stack per stage (`<App>-<stage>`), stage names from branch names.
 *
 * A stage name is used as a CloudFormation stack-name suffix (`[A-Za-z][A-Za-z0-9-]*`, 128),
 * an API Gateway stage name (`[A-Za-z0-9_-]`, 128), and inside Lambda function (64), log group
 * and alarm names. The common ground, kept short so every derived name fits:
 * `^[a-z][a-z0-9]*(-[a-z0-9]+)*$`, at most {@link MAX_STAGE_LENGTH} characters.
 */
import { createHash } from 'node:crypto';

/** Longest stage name; with the app name and the longest suffix a function name stays ≤ 64. */
export const MAX_STAGE_LENGTH = 20;

/** The stage the default branch deploys to. */
export const PRODUCTION_STAGE = 'prod';

/** Branches that deploy to {@link PRODUCTION_STAGE}. */
export const PRODUCTION_BRANCHES: readonly string[] = ['main', 'master'];

const STAGE_PATTERN = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/** Whether `name` can be used as a stage name as it is. */
export function isValidStageName(name: string): boolean {
  return name.length <= MAX_STAGE_LENGTH && STAGE_PATTERN.test(name);
}

/** Why `name` is not a valid stage name, or undefined when it is. */
export function stageNameProblem(name: string): string | undefined {
  if (isValidStageName(name)) return undefined;
  if (name.length > MAX_STAGE_LENGTH) return `longer than ${MAX_STAGE_LENGTH} characters`;
  return 'use lower-case letters, digits and single hyphens, starting with a letter';
}

function shortHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 6);
}

/**
 * A stage name for an arbitrary git branch name. Deterministic and total (never throws):
 * `main`/`master` (also as `refs/heads/main`) → `prod`; otherwise lower-cased, every run of
 * other characters turned into one `-`, a leading `b-` when it would not start with a letter,
 * and when it had to be shortened, or would otherwise claim the production stage name, or came
 * out empty, a 6-hex-digit hash of the original branch name keeps it distinct.
 */
export function stageNameForBranch(branch: string): string {
  const name = branch.trim().replace(/^refs\/heads\//, '');
  if (PRODUCTION_BRANCHES.includes(name)) return PRODUCTION_STAGE;
  let stage = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  let needsHash = stage === '' || stage === PRODUCTION_STAGE;
  if (stage !== '' && !/^[a-z]/.test(stage)) stage = `b-${stage}`;
  if (stage.length > MAX_STAGE_LENGTH) needsHash = true;
  if (!needsHash) return stage;
  const hash = shortHash(name);
  const room = MAX_STAGE_LENGTH - hash.length - 1;
  const head = stage.slice(0, room).replace(/-+$/, '');
  return head === '' ? `b-${hash}` : `${head}-${hash}`;
}

/** The stack name of a stage: `<App>-<stage>`. */
export function stackNameFor(appName: string, stage: string): string {
  return `${appName}-${stage}`;
}
