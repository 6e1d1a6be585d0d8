#!/usr/bin/env -S npx tsx
/**
 * Prints the stage name for a git branch: `npx tsx bin/stage-name.ts [--default-branch NAME] <branch>`
 * (or `npm run --silent stage-name -- …` in infra/). Only the repository's default branch, given
 * with `--default-branch`, deploys to `prod`; without it no branch does. Without a branch argument
 * it reads GITHUB_HEAD_REF, then GITHUB_REF_NAME. With `--stack [AppName]` it prints the stack
 * name instead (`<App>-<stage>`). With `--github-output` (needs `--default-branch`) it prints
 * `deploy=true|false`, `stage=…`, `environment=production|preview` and `source-branch=…` lines for
 * `$GITHUB_OUTPUT`; with `--remote-head SHA` (the branch's head now, empty when it is gone),
 * `--action deploy|destroy` and `--ref SHA`, a run whose event a later one overtook does nothing (`ciPlan`).
 */
import { DEFAULT_APP_NAME } from './context';
import { ciPlan, stackNameFor, stageNameForBranch } from '../lib/stage-name';

const USAGE =
  'usage: stage-name.ts [--default-branch NAME] [--stack] [--app NAME] [BRANCH]\n' +
  '       stage-name.ts --github-output --default-branch NAME --remote-head SHA [--action deploy|destroy] [--ref SHA] BRANCH\n' +
  '  Prints the deployment stage for a git branch (the default branch -> prod; no other branch).\n' +
  '  BRANCH defaults to $GITHUB_HEAD_REF, then $GITHUB_REF_NAME.\n' +
  `  --stack prints the stack name <NAME>-<stage> instead (NAME defaults to ${DEFAULT_APP_NAME}).\n` +
  '  --github-output prints deploy=, stage=, environment= and source-branch= lines for $GITHUB_OUTPUT.\n';

function main(argv: readonly string[]): number {
  const args = [...argv];
  if (args.includes('-h') || args.includes('--help')) {
    process.stdout.write(USAGE);
    return 0;
  }
  let stack = false;
  let githubOutput = false;
  let app = DEFAULT_APP_NAME;
  let defaultBranch: string | undefined;
  let action: 'deploy' | 'destroy' = 'deploy';
  let ref: string | undefined;
  let remoteHead: string | undefined;
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const value = () => {
      if (i + 1 >= args.length) throw new Error(`${args[i]} needs a value`);
      return args[++i];
    };
    try {
      if (args[i] === '--stack') stack = true;
      else if (args[i] === '--github-output') githubOutput = true;
      else if (args[i] === '--app') app = value();
      else if (args[i] === '--default-branch') defaultBranch = value();
      else if (args[i] === '--ref') ref = value();
      else if (args[i] === '--remote-head') remoteHead = value();
      else if (args[i] === '--action') {
        const a = value();
        if (a !== 'deploy' && a !== 'destroy') throw new Error('--action: deploy or destroy');
        action = a;
      } else if (args[i].startsWith('--')) throw new Error(`unknown option ${args[i]}`);
      else positional.push(args[i]);
    } catch (e) {
      process.stderr.write(`stage-name: ${(e as Error).message}\n${USAGE}`);
      return 2;
    }
  }
  if (positional.length > 1) {
    process.stderr.write('stage-name: one branch name at most\n');
    return 2;
  }
  const branch = positional[0] ?? (process.env.GITHUB_HEAD_REF || process.env.GITHUB_REF_NAME);
  if (!branch) {
    process.stderr.write('stage-name: give a branch name (or set GITHUB_HEAD_REF / GITHUB_REF_NAME)\n');
    return 2;
  }
  if (githubOutput) {
    if (!defaultBranch) {
      process.stderr.write('stage-name: --github-output needs --default-branch (the repository\'s default branch, the only production branch)\n');
      return 2;
    }
    if (remoteHead === undefined) {
      process.stderr.write('stage-name: --github-output needs --remote-head (the branch\'s head now, `git ls-remote`; empty when it is gone)\n');
      return 2;
    }
    const d = ciPlan({ action, branch, defaultBranch, ref, remoteHead });
    process.stdout.write(
      d.deploy
        ? `deploy=true\nstage=${d.stage}\nenvironment=${d.environment}\nsource-branch=${d.environment === 'preview' ? branch : ''}\n`
        : `deploy=false\nreason=${d.reason}\n`,
    );
    return 0;
  }
  const stage = stageNameForBranch(branch, defaultBranch);
  process.stdout.write(`${stack ? stackNameFor(app, stage) : stage}\n`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
