#!/usr/bin/env -S npx tsx
/**
 * Prints the stage name for a git branch: `npx tsx bin/stage-name.ts <branch>` (or
 * `npm run --silent stage-name -- <branch>` in infra/). Without an argument it reads
 * GITHUB_HEAD_REF, then GITHUB_REF_NAME, so a GitHub workflow can call it as it is.
 * With `--stack [AppName]` it prints the stack name instead (`<App>-<stage>`). With
 * `--github-output` it prints `deploy=true|false`, `stage=…` and `environment=production|preview`
 * lines for `$GITHUB_OUTPUT` (dependabot branches: `deploy=false`).
 */
import { DEFAULT_APP_NAME } from './context';
import { branchDeployment, stackNameFor, stageNameForBranch } from '../lib/stage-name';

function main(argv: readonly string[]): number {
  const args = [...argv];
  if (args.includes('-h') || args.includes('--help')) {
    process.stdout.write(
      'usage: stage-name.ts [--stack] [--app NAME] [BRANCH]\n' +
        '  Prints the deployment stage for a git branch (main/master -> prod).\n' +
        '  BRANCH defaults to $GITHUB_HEAD_REF, then $GITHUB_REF_NAME.\n' +
        `  --stack prints the stack name <NAME>-<stage> instead (NAME defaults to ${DEFAULT_APP_NAME}).\n` +
        '  --github-output prints deploy=, stage= and environment= lines for $GITHUB_OUTPUT.\n',
    );
    return 0;
  }
  let stack = false;
  let githubOutput = false;
  let app = DEFAULT_APP_NAME;
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--stack') stack = true;
    else if (args[i] === '--github-output') githubOutput = true;
    else if (args[i] === '--app' && i + 1 < args.length) app = args[++i];
    else positional.push(args[i]);
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
    const d = branchDeployment(branch);
    process.stdout.write(
      d.deploy ? `deploy=true\nstage=${d.stage}\nenvironment=${d.environment}\n` : `deploy=false\nreason=${d.reason}\n`,
    );
    return 0;
  }
  const stage = stageNameForBranch(branch);
  process.stdout.write(`${stack ? stackNameFor(app, stage) : stage}\n`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
