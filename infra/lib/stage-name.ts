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

/**
 * The stage the repository's default branch deploys to, and no other branch: the default branch
 * is a setting of the repository (`github.event.repository.default_branch`, `git ls-remote
 * --symref origin HEAD`), given to every function here that may answer `prod`. Without it no
 * branch is production (a `master` in a repository whose default branch is `main` is a preview).
 */
export const PRODUCTION_STAGE = 'prod';


/** The stage `cdk deploy` and `scripts/deploy.sh` use when no stage is given (manual work). */
export const DEFAULT_MANUAL_STAGE = 'dev';

/** Stage names no branch may take as they are: production and the manual default. */
export const RESERVED_STAGES: readonly string[] = [PRODUCTION_STAGE, DEFAULT_MANUAL_STAGE];

/** GitHub environment of a stage: its own protection rules and its own deploy role (OIDC `sub`). */
export type DeployEnvironment = 'production' | 'preview';

/** Branch prefixes that never get a stage (bots' update branches: CI tests them, nothing deploys). */
export const NO_STAGE_BRANCH_PREFIXES: readonly string[] = ['dependabot/'];

const STAGE_PATTERN = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/** The form of a hashed stage name's tail; a branch name ending like this is hashed too. */
const HASH_TAIL = /-[0-9a-f]{6}$/;

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

function branchOf(ref: string): string {
  return ref.trim().replace(/^refs\/heads\//, '');
}

/**
 * A stage name for an arbitrary git branch name. Deterministic, total (never throws) and
 * one-to-one in practice: the repository's default branch `defaultBranch` (also as
 * `refs/heads/<it>`) → `prod`, and no other branch (without `defaultBranch`, none); a branch that is
 * already a valid stage name, is not reserved ({@link RESERVED_STAGES}) and does not end like a
 * hash is its own stage; every other branch gets its sanitized form (lower-cased, every run of
 * other characters one `-`, `b-` in front when it would not start with a letter, cut to fit)
 * followed by `-` and a 6-hex-digit hash of the branch name. So `feature/foo`, `Feature/Foo` and
 * `feature-foo` get three different stages (`feature-foo-…`, `feature-foo-…`, `feature-foo`), and
 * branch `dev` does not take the manual default stage. Unhashed results never end like a hash,
 * so two branches can only meet through a 24-bit hash collision of two hashed names.
 */
export function stageNameForBranch(branch: string, defaultBranch?: string): string {
  const name = branchOf(branch);
  if (defaultBranch !== undefined && branchOf(defaultBranch) !== '' && name === branchOf(defaultBranch)) return PRODUCTION_STAGE;
  if (isValidStageName(name) && !RESERVED_STAGES.includes(name) && !HASH_TAIL.test(name)) return name;
  let stage = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (stage !== '' && !/^[a-z]/.test(stage)) stage = `b-${stage}`;
  const hash = shortHash(name);
  const room = MAX_STAGE_LENGTH - hash.length - 1;
  const head = stage.slice(0, room).replace(/-+$/, '');
  return head === '' ? `b-${hash}` : `${head}-${hash}`;
}

/** What CI does with a branch: no stage, or its stage and GitHub environment. */
export type BranchDeployment =
  | { readonly deploy: false; readonly reason: string }
  | { readonly deploy: true; readonly stage: string; readonly environment: DeployEnvironment };

/**
 * The deployment of a branch pushed to GitHub (see {@link stageNameForBranch}): production for
 * the repository's default branch `defaultBranch` only.
 */
export function branchDeployment(branch: string, defaultBranch: string): BranchDeployment {
  const name = branchOf(branch);
  const prefix = NO_STAGE_BRANCH_PREFIXES.find((p) => name.startsWith(p));
  if (prefix !== undefined) return { deploy: false, reason: `branches under ${prefix} get no stage` };
  const stage = stageNameForBranch(name, defaultBranch);
  return { deploy: true, stage, environment: stage === PRODUCTION_STAGE ? 'production' : 'preview' };
}

/** What a workflow run was started for: deploy a pushed commit, or destroy a deleted branch's stage. */
export interface CiEvent {
  readonly action: 'deploy' | 'destroy';
  readonly branch: string;
  /** The repository's default branch: the only one deploying to {@link PRODUCTION_STAGE}. */
  readonly defaultBranch: string;
  /** The commit to deploy (deploy only; unset: whatever the branch's head is). */
  readonly ref?: string;
  /**
   * The branch's head on the remote now (`git ls-remote`): '' when the branch does not exist.
   * Deploy and destroy of one branch are serialized per stage; this makes the later event win:
   * a deploy of a commit the branch no longer points at, or of a deleted branch, does nothing,
   * and neither does the destroy of a branch that exists again.
   */
  readonly remoteHead: string;
}

/** What a deploy/destroy run does for its event: nothing (and why), or act on a stage. */
export function ciPlan(e: CiEvent): BranchDeployment {
  const d = branchDeployment(e.branch, e.defaultBranch);
  if (!d.deploy) return d;
  const name = branchOf(e.branch);
  const head = e.remoteHead.trim();
  if (e.action === 'deploy') {
    if (head === '') return { deploy: false, reason: `branch ${name} no longer exists: its deletion destroys the stage, nothing deploys it` };
    if (e.ref !== undefined && e.ref !== '' && head !== e.ref) {
      return { deploy: false, reason: `branch ${name} is at ${head.slice(0, 12)} now, not ${e.ref.slice(0, 12)}: the run of that push deploys` };
    }
    return d;
  }
  if (d.environment === 'production') return { deploy: false, reason: 'the production stage is never destroyed by a workflow' };
  if (head !== '') return { deploy: false, reason: `branch ${name} exists again (at ${head.slice(0, 12)}): its push deploys the stage, nothing destroys it` };
  return d;
}

/** The stack name of a stage: `<App>-<stage>`. */
export function stackNameFor(appName: string, stage: string): string {
  return `${appName}-${stage}`;
}

/** The stack tag of a stage CI deployed for a branch (`-c sourceBranch=…`): the sweep's mark. */
export const SOURCE_TAG = { key: 'source', branch: 'branch' } as const;

/** What the sweep needs of a CloudFormation stack (`aws cloudformation describe-stacks`). */
export interface StackSummary {
  readonly StackName: string;
  readonly Tags?: readonly { readonly Key: string; readonly Value: string }[];
}

/**
 * The stages to destroy: stacks of `appName` that CI deployed for a branch (tag
 * {@link SOURCE_TAG}) whose stage is no existing branch's stage. Never `prod`, never a stage
 * deployed by hand (no tag). Sorted, each once.
 */
export function orphanStages(appName: string, stacks: readonly StackSummary[], branches: readonly string[], defaultBranch?: string): string[] {
  const live = new Set(branches.map((b) => stageNameForBranch(b, defaultBranch)));
  const out = new Set<string>();
  for (const s of stacks) {
    const tags = new Map((s.Tags ?? []).map((t) => [t.Key, t.Value]));
    if (tags.get('app') !== appName || tags.get(SOURCE_TAG.key) !== SOURCE_TAG.branch) continue;
    const stage = tags.get('stage');
    if (stage === undefined || stackNameFor(appName, stage) !== s.StackName) continue;
    if (stage === PRODUCTION_STAGE || !isValidStageName(stage) || live.has(stage)) continue;
    out.add(stage);
  }
  return [...out].sort();
}
