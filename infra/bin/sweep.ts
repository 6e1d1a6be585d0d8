#!/usr/bin/env -S npx tsx
/**
 * Prints, one a line, the stages whose branch is gone (cleanup.yml's nightly sweep):
 * `npx tsx bin/sweep.ts --stacks stacks.json --branches branches.txt [--app NAME]`, where
 * stacks.json is `aws cloudformation describe-stacks --output json` and branches.txt the branch
 * names, one a line (`git ls-remote --heads origin`, `refs/heads/` removed). Only stacks CI
 * deployed for a branch (tag source=branch) are candidates; prod and manual stages never are.
 * `--default-branch NAME` (the repository's default branch) maps that branch to prod, as the deploys do.
 */
import * as fs from 'node:fs';
import { DEFAULT_APP_NAME } from './context';
import { type StackSummary, orphanStages } from '../lib/stage-name';

function main(argv: readonly string[]): number {
  let stacksFile: string | undefined;
  let branchesFile: string | undefined;
  let app = DEFAULT_APP_NAME;
  let defaultBranch: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--stacks') stacksFile = argv[++i];
    else if (argv[i] === '--branches') branchesFile = argv[++i];
    else if (argv[i] === '--app') app = argv[++i];
    else if (argv[i] === '--default-branch') defaultBranch = argv[++i];
    else {
      process.stderr.write(`sweep: unknown argument ${argv[i]}\nusage: sweep.ts --stacks FILE --branches FILE [--default-branch NAME] [--app NAME]\n`);
      return 2;
    }
  }
  if (!stacksFile || !branchesFile) {
    process.stderr.write('usage: sweep.ts --stacks FILE --branches FILE [--default-branch NAME] [--app NAME]\n');
    return 2;
  }
  const doc = JSON.parse(fs.readFileSync(stacksFile, 'utf8')) as { Stacks?: StackSummary[] };
  const branches = fs
    .readFileSync(branchesFile, 'utf8')
    .split('\n')
    .map((b) => b.trim())
    .filter(Boolean);
  if (branches.length === 0) {
    // An empty list would sweep everything: refuse rather than guess.
    process.stderr.write('sweep: no branches listed; refusing to treat every stage as orphaned\n');
    return 1;
  }
  for (const stage of orphanStages(app, doc.Stacks ?? [], branches, defaultBranch)) process.stdout.write(`${stage}\n`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
