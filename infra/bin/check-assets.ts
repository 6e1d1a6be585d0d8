#!/usr/bin/env -S npx tsx
/**
 * Checks a synthesized cloud assembly (`cdk synth` output) for real authorizer bundles:
 * every `provided.al2023` function's asset directory holds an executable ELF `bootstrap` for
 * the function's architecture, with the AWS SDK (the `introspection` cargo feature) linked in
 * exactly when the function has an introspection secret (`AUTHZ_INTROSPECTION_SECRET_ARN`), its
 * DynamoDB client (the `replay-store` feature) exactly when it has a DPoP replay table
 * (`AUTHZ_DPOP_REPLAY_TABLE`), the CA bundle `AUTHZ_CA_BUNDLE` names (`-c caBundle`) when it
 * names one, and the Cedar files routes.json names (`CEDAR_FILES`: policies, schema, template links).
 * `npx tsx bin/check-assets.ts <cdk.out> <stack> [expected-count]`.
 * Used by scripts/test-infra.sh after the one real synth.
 */
import { accessSync, constants, openSync, readFileSync, readSync, closeSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { CEDAR_FILES } from '../lib/route-table';

const ELF_MACHINE: Record<string, number> = { x86_64: 62, arm64: 183 };

interface CheckResult {
  readonly id: string;
  readonly ok: boolean;
  readonly detail: string;
}

export function checkAssembly(outDir: string, stackName: string): CheckResult[] {
  const template = JSON.parse(readFileSync(path.join(outDir, `${stackName}.template.json`), 'utf8')) as {
    Resources: Record<string, { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> }>;
  };
  const results: CheckResult[] = [];
  for (const [id, r] of Object.entries(template.Resources)) {
    if (r.Type !== 'AWS::Lambda::Function' || r.Properties?.Runtime !== 'provided.al2023') continue;
    const fail = (detail: string) => results.push({ id, ok: false, detail });
    const arch = ((r.Properties.Architectures as string[] | undefined) ?? ['x86_64'])[0];
    const assetPath = r.Metadata?.['aws:asset:path'];
    if (typeof assetPath !== 'string') {
      fail('no aws:asset:path metadata (was bundling skipped?)');
      continue;
    }
    const bootstrap = path.join(outDir, assetPath, 'bootstrap');
    try {
      accessSync(bootstrap, constants.X_OK);
    } catch {
      fail(`${bootstrap} missing or not executable`);
      continue;
    }
    const header = Buffer.alloc(20);
    const fd = openSync(bootstrap, 'r');
    readSync(fd, header, 0, 20, 0);
    closeSync(fd);
    if (header.subarray(0, 4).toString('latin1') !== '\x7fELF') {
      fail(`${bootstrap} is not an ELF executable`);
      continue;
    }
    const machine = header.readUInt16LE(18);
    if (machine !== ELF_MACHINE[arch]) {
      fail(`${bootstrap} is built for ELF machine ${machine}, the function is ${arch}`);
      continue;
    }
    if (r.Properties.Handler !== 'bootstrap') {
      fail(`handler is ${String(r.Properties.Handler)}, not bootstrap`);
      continue;
    }
    // Crate paths survive stripping (panic locations): the SDK's name is in the binary iff linked.
    const bytes = readFileSync(bootstrap);
    const sdk = bytes.includes('aws-sdk-secretsmanager');
    const env = (r.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
    const dynamo = bytes.includes('aws-sdk-dynamodb');
    const records = 'AUTHZ_DPOP_REPLAY_TABLE' in env;
    if (dynamo !== records) {
      fail(`${bootstrap} ${dynamo ? 'links' : 'lacks'} the DynamoDB client, but the function ${records ? 'has' : 'has no'} DPoP replay table`);
      continue;
    }
    const introspects = 'AUTHZ_INTROSPECTION_SECRET_ARN' in env;
    if (sdk !== introspects) {
      fail(`${bootstrap} ${sdk ? 'links' : 'lacks'} the AWS SDK, but the function ${introspects ? 'introspects' : 'does not introspect'} opaque tokens`);
      continue;
    }
    // -c caBundle: the file AUTHZ_CA_BUNDLE names must be in the asset (Lambda's /var/task).
    const ca = env.AUTHZ_CA_BUNDLE;
    let caNote = '';
    if (ca !== undefined) {
      const inAsset = typeof ca === 'string' && ca.startsWith('/var/task/') ? path.join(outDir, assetPath, ca.slice('/var/task/'.length)) : undefined;
      let pem = '';
      try {
        pem = inAsset ? readFileSync(inAsset, 'utf8') : '';
      } catch {
        // reported below
      }
      if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
        fail(`AUTHZ_CA_BUNDLE=${String(ca)}, but the asset holds no PEM certificate there`);
        continue;
      }
      caNote = `, CA bundle ${ca}`;
    }
    // Cedar-decided routes: every AUTHZ_CEDAR_* file must be in the asset (lib/cedar.ts).
    const cedarFiles = Object.entries(env).filter(([k]) => (Object.values(CEDAR_FILES) as string[]).includes(k));
    const missing = cedarFiles.filter(([, v]) => {
      if (typeof v !== 'string' || !v.startsWith('/var/task/')) return true;
      try {
        return !statSync(path.join(outDir, assetPath, v.slice('/var/task/'.length))).isFile();
      } catch {
        return true;
      }
    });
    if (missing.length > 0) {
      fail(`${missing.map(([k, v]) => `${k}=${String(v)}`).join(', ')}: not in the asset`);
      continue;
    }
    if (cedarFiles.length > 0) caNote += `, Cedar files ${cedarFiles.map(([, v]) => String(v)).join(' ')}`;
    const mb = (statSync(bootstrap).size / 1e6).toFixed(1);
    const what = sdk ? 'with the AWS SDK (introspection)' : 'without the AWS SDK';
    results.push({ id, ok: true, detail: `${arch}, ${mb} MB bootstrap ${what}${caNote} in ${assetPath}` });
  }
  return results;
}

if (require.main === module) {
  const [outDir, stackName, expected] = process.argv.slice(2);
  if (!outDir || !stackName) {
    process.stderr.write('usage: check-assets.ts <cdk.out> <stack> [expected-count]\n');
    process.exit(2);
  }
  const results = checkAssembly(outDir, stackName);
  for (const r of results) process.stdout.write(`${r.ok ? 'ok  ' : 'FAIL'}  ${r.id}: ${r.detail}\n`);
  const failed = results.filter((r) => !r.ok).length;
  const want = expected === undefined ? undefined : Number(expected);
  if (want !== undefined && results.length !== want) {
    process.stdout.write(`FAIL  expected ${want} Rust functions, found ${results.length}\n`);
    process.exit(1);
  }
  if (results.length === 0) {
    process.stdout.write('FAIL  no provided.al2023 function in the template\n');
    process.exit(1);
  }
  process.exit(failed > 0 ? 1 : 0);
}
