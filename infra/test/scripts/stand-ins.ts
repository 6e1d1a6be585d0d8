/**
 * Stand-ins the script tests put first on PATH, written once (deploy-scripts.test.ts,
 * ci-deploy.test.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * `aws` in `dir` answering only `aws sts get-caller-identity --query Account --output text`, as
 * the AWS CLI answers it: the account in `STANDIN_AWS_ACCOUNT`, or, when that is unset, the CLI's
 * "Unable to locate credentials" and exit 255. Any other call fails (exit 64), naming itself.
 */
export function writeStandInAws(dir: string): void {
  fs.writeFileSync(
    path.join(dir, 'aws'),
    [
      '#!/usr/bin/env bash',
      '[ "$1 $2" = "sts get-caller-identity" ] || { echo "stand-in aws: unexpected $*" >&2; exit 64; }',
      'if [ -n "${STANDIN_AWS_ACCOUNT:-}" ]; then echo "$STANDIN_AWS_ACCOUNT"; exit 0; fi',
      'echo \'Unable to locate credentials. You can configure credentials by running "aws configure".\' >&2',
      'exit 255',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
}
