/**
 * The smoke test's token fetching (client credentials) against a real loopback token endpoint,
 * and its use of the stack's own user pool outputs: names taken from the synthesized stack,
 * every tier's token fetched and sent, secrets never printed.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadRouteTable, poolTiers, samplePath } from '../lib/route-table';
import {
  NEW_DOMAIN_RETRY,
  clientVariables,
  fetchClientCredentialsToken,
  fetchTokenWithRetry,
  poolFromOutputs,
  tokenParamsVariable,
  urlVariable,
  userPoolRegion,
} from '../lib/smoke';
import { readClientSecret } from '../bin/smoke';
import { type Moto, startMoto, synthWithoutIssuer } from './helpers';

const TABLE = loadRouteTable();

/** A minimal RFC 6749 §4.4 token endpoint: client_secret_basic, known clients, Bearer tokens. */
class TokenEndpoint {
  readonly requests: { clientId?: string; form: URLSearchParams }[] = [];
  private server!: Server;
  url = '';
  /** id → secret; an answer to send instead of a token, per client id. */
  constructor(
    private readonly clients: Record<string, string>,
    private readonly override: Record<string, (res: ServerResponse) => void> = {},
  ) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/oauth2/token`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of req) body += chunk;
    const json = (status: number, doc: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(doc));
    };
    const form = new URLSearchParams(body);
    const auth = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
    const [id, secret] = auth ? Buffer.from(auth[1], 'base64').toString().split(':').map(decodeURIComponent) : [];
    this.requests.push({ clientId: id, form });
    if (req.method !== 'POST' || req.url !== '/oauth2/token') return json(404, { error: 'not_found' });
    if (req.headers['content-type'] !== 'application/x-www-form-urlencoded') return json(400, { error: 'invalid_request' });
    if (form.get('grant_type') !== 'client_credentials') return json(400, { error: 'unsupported_grant_type' });
    if (id === undefined || this.clients[id] === undefined || this.clients[id] !== secret) return json(401, { error: 'invalid_client' });
    if (this.override[id]) return this.override[id](res);
    json(200, { access_token: `token-of-${id}`, token_type: 'Bearer', expires_in: 3600 });
  }
}

describe('fetchClientCredentialsToken against a loopback token endpoint', () => {
  const idp = new TokenEndpoint(
    { plain: 's3cret', 'we:ird%id': 'p@ss:w%rd', mac: 'x', empty: 'x' },
    {
      mac: (res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ access_token: 'm', token_type: 'MAC' }));
      },
      empty: (res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      },
    },
  );
  before(() => idp.start());
  after(() => idp.stop());
  const get = (clientId: string, clientSecret: string, extra: Partial<Parameters<typeof fetchClientCredentialsToken>[0]> = {}) =>
    fetchClientCredentialsToken({ tokenUrl: idp.url, clientId, clientSecret, timeoutMs: 5000, ...extra });

  it('gets a token; sends scope and extra parameters only when given', async () => {
    assert.equal(await get('plain', 's3cret'), 'token-of-plain');
    assert.equal(idp.requests.at(-1)?.form.has('scope'), false);
    assert.equal(await get('plain', 's3cret', { scope: 'pet-store/read pet-store/write', extraParams: [['audience', 'petstore']] }), 'token-of-plain');
    const form = idp.requests.at(-1)?.form;
    assert.equal(form?.get('scope'), 'pet-store/read pet-store/write');
    assert.equal(form?.get('audience'), 'petstore');
  });

  it('form-encodes id and secret before Basic encoding (RFC 6749 §2.3.1)', async () => {
    assert.equal(await get('we:ird%id', 'p@ss:w%rd'), 'token-of-we:ird%id');
  });

  it('a refused client: the status and error code, never the secret', async () => {
    await assert.rejects(get('plain', 'wrong-secret-value'), (e: Error) => {
      assert.equal(e.message, 'token endpoint answered HTTP 401 invalid_client');
      assert.ok(!e.message.includes('wrong-secret-value'));
      return true;
    });
  });

  it('refuses an answer without a token or with a non-Bearer token', async () => {
    await assert.rejects(get('empty', 'x'), /without an access_token/);
    await assert.rejects(get('mac', 'x'), /a MAC token, not a Bearer token/);
  });

  it('an endpoint that is not there, or does not answer in time', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    await assert.rejects(get('plain', 's3cret', { tokenUrl: `http://127.0.0.1:${port}/oauth2/token` }), /unreachable/);
    const silent = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/oauth2/token`;
    await assert.rejects(get('plain', 's3cret', { tokenUrl: url, timeoutMs: 300 }), /unreachable/);
    silent.closeAllConnections();
    await new Promise((r) => silent.close(r));
  });
});

describe('fetchTokenWithRetry: a new Cognito domain that does not answer yet', () => {
  let fails = 0;
  const flaky = (status: number) => (res: ServerResponse) => {
    if (fails > 0) {
      fails--;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end('{}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ access_token: 'late-token', token_type: 'Bearer' }));
  };
  const idp = new TokenEndpoint({ c503: 's', c404: 's', c401: 's' }, { c503: flaky(503), c404: flaky(404) });
  before(() => idp.start());
  after(() => idp.stop());
  const bound = { withinMs: 3_000, delayMs: 20 };
  const req = (clientId: string, clientSecret = 's') => ({ tokenUrl: idp.url, clientId, clientSecret, timeoutMs: 2_000 });

  it('tries again while the endpoint fails transiently (5xx, 404), within the bound', async () => {
    fails = 3;
    idp.requests.length = 0;
    assert.equal(await fetchTokenWithRetry(req('c503'), bound), 'late-token');
    assert.equal(idp.requests.length, 4);
    fails = 2;
    assert.equal(await fetchTokenWithRetry(req('c404'), bound), 'late-token');
  });

  it('gives up when the bound is spent, saying how many tries', async () => {
    fails = 1_000;
    await assert.rejects(fetchTokenWithRetry(req('c503'), { withinMs: 300, delayMs: 50 }), /HTTP 503 \(\d+ tries within \d+ s\)/);
    fails = 0;
  });

  it('a refused client fails at once (no retry)', async () => {
    idp.requests.length = 0;
    await assert.rejects(fetchTokenWithRetry(req('c401', 'wrong'), bound), /^Error: token endpoint answered HTTP 401 invalid_client$/);
    assert.equal(idp.requests.length, 1);
  });

  it('the stack\'s own pool is given a minute and more (the bound bin/smoke.ts uses)', () => {
    assert.ok(NEW_DOMAIN_RETRY.withinMs >= 60_000 && NEW_DOMAIN_RETRY.withinMs <= 300_000);
  });
});

/** A `cdk deploy --outputs-file` document for the stack synthesized without issuer, values filled in. */
function outputsOfSynthesizedStack(values: (key: string) => string): Record<string, Record<string, string>> {
  const { stack, template } = synthWithoutIssuer();
  const outputs = template.toJSON().Outputs as Record<string, unknown>;
  return { [stack.stackName]: Object.fromEntries(Object.keys(outputs).map((k) => [k, values(k)])) };
}

/** Runs bin/smoke.ts like scripts/smoke.sh does, with only the given SMOKE_* variables (and `env`). */
function runSmoke(outputsFile: string, env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SMOKE_')));
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', 'bin', 'smoke.ts'), '--outputs', outputsFile], {
    env: { ...clean, ...env },
    cwd: path.join(__dirname, '..'),
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  return new Promise((r) => child.on('close', (code) => r({ code, out })));
}

describe('the stack\'s user pool outputs', () => {
  it('userPoolRegion', () => {
    assert.equal(userPoolRegion('eu-west-1_AbCdEf123'), 'eu-west-1');
    assert.equal(userPoolRegion('us-gov-west-1_x'), 'us-gov-west-1');
    assert.throws(() => userPoolRegion('AbCdEf'), /not a Cognito user pool id/);
  });

  it('every tier\'s client id is found under the names the stack outputs', () => {
    assert.ok(TABLE.apis.some((a) => Object.values(a.tiers).some((t) => t.groups.length > 0)));
    const doc = outputsOfSynthesizedStack((k) => (k === 'UserPoolId' ? 'eu-west-1_Pool1' : k === 'TokenEndpoint' ? 'https://t/oauth2/token' : `id-${k}`));
    const pool = poolFromOutputs(TABLE, doc);
    assert.ok(pool);
    assert.equal(pool.stack, 'ApiAuthz-dev');
    assert.equal(pool.region, 'eu-west-1');
    assert.equal(pool.tokenEndpoint, 'https://t/oauth2/token');
    for (const api of TABLE.apis) {
      // A tier with groups has no client (the pool cannot issue groups): PetStore's Cedar `editor`.
      assert.deepEqual(Object.keys(pool.clients[api.name]), Object.keys(api.tiers).filter((t) => api.tiers[t].groups.length === 0));
      for (const id of Object.values(pool.clients[api.name])) assert.match(id, /^id-[A-Za-z]+ClientId$/);
    }
  });

  it('no pool outputs (external issuer): undefined; a missing client id or two pool stacks: an error', () => {
    assert.equal(poolFromOutputs(TABLE, { 'ApiAuthz-dev': { PetStoreUrl: 'https://x/' } }), undefined);
    assert.throws(
      () => poolFromOutputs(TABLE, { 'ApiAuthz-dev': { UserPoolId: 'eu-west-1_P', TokenEndpoint: 'https://t' } }),
      /stack ApiAuthz-dev: output PetStoreReaderClientId missing/,
    );
    assert.throws(
      () => poolFromOutputs(TABLE, { A: { UserPoolId: 'eu-west-1_P' }, B: { UserPoolId: 'eu-west-1_Q' } }),
      /several stacks with a user pool \(A, B\)/,
    );
  });
});

describe('scripts/smoke.sh with the stack\'s own pool (bin/smoke.ts, real process)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'smoke-pool-test-'));
  // The pool's tiers: a tier with groups has no client (PetStore's Cedar `editor`; the run skips it).
  const tiers = TABLE.apis.flatMap((a) => poolTiers(a).map(([t]) => ({ api: a.name, tier: t })));
  const idOf = (api: string, tier: string) => `client-${api}-${tier}`;
  const secretOf = (api: string, tier: string) => `secret-${api}-${tier}-do-not-print`;
  const idp = new TokenEndpoint(Object.fromEntries(tiers.map(({ api, tier }) => [idOf(api, tier), secretOf(api, tier)])));
  /** Loopback stand-in for the deployed APIs: records which bearer token reached which path. */
  const seen: { path: string; auth?: string }[] = [];
  const apis = createServer((req, res) => {
    seen.push({ path: req.url ?? '', auth: req.headers.authorization });
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  let apiBase = '';
  let outputsFile = '';
  before(async () => {
    await idp.start();
    await new Promise<void>((r) => apis.listen(0, '127.0.0.1', r));
    apiBase = `http://127.0.0.1:${(apis.address() as AddressInfo).port}`;
    const doc = outputsOfSynthesizedStack((k) => {
      if (k === 'UserPoolId') return 'eu-west-1_SmokePool';
      if (k === 'TokenEndpoint') return idp.url;
      const api = TABLE.apis.find((a) => k === `${a.name.split('-').map((w) => w[0].toUpperCase() + w.slice(1)).join('')}Url`);
      if (api) return `${apiBase}/${api.name}/`;
      if (!k.endsWith('ClientId')) return `not-read-by-smoke-${k}`; // API ids, function names
      const t = tiers.find(({ api, tier }) => k.toLowerCase() === `${api.replace(/-/g, '')}${tier}clientid`);
      assert.ok(t, `a client id output the test does not know: ${k}`);
      return idOf(t.api, t.tier);
    });
    outputsFile = path.join(dir, 'outputs.json');
    writeFileSync(outputsFile, JSON.stringify(doc));
  });
  after(async () => {
    await idp.stop();
    apis.closeAllConnections();
    await new Promise((r) => apis.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  const smoke = (env: Record<string, string>) => runSmoke(outputsFile, env);

  it('fetches one token per tier from the TokenEndpoint output and sends it on every route', async () => {
    const secrets = Object.fromEntries(tiers.map(({ api, tier }) => [clientVariables(api, tier).secret, secretOf(api, tier)]));
    idp.requests.length = 0;
    seen.length = 0;
    const { out } = await smoke(secrets);
    assert.match(out, /tokens: the user pool eu-west-1_SmokePool of ApiAuthz-dev/);
    // One token request per tier, by its own client, asking for no scope (Cognito grants the client's).
    assert.deepEqual(idp.requests.map((r) => r.clientId).sort(), tiers.map(({ api, tier }) => idOf(api, tier)).sort());
    for (const r of idp.requests) assert.equal(r.form.has('scope'), false);
    for (const api of TABLE.apis) {
      for (const route of api.routes) {
        for (const [tier] of poolTiers(api)) {
          const auth = `Bearer token-of-${idOf(api.name, tier)}`;
          assert.ok(
            seen.some((s) => s.path === `/${api.name}${samplePath(route.route)}` && s.auth === auth),
            `${api.name} ${route.route}: the ${tier} token was sent`,
          );
        }
      }
    }
    assert.ok(!out.includes('do-not-print'), 'no secret in the output');
    assert.ok(!out.includes('token-of-'), 'no token in the output');
    assert.ok(out.includes('tier editor'), `the editor tier is skipped, and said so: ${out}`);
  });

  it('a tier whose token cannot be had fails the run (exit 2), naming it, printing no secret', async () => {
    const secrets = Object.fromEntries(tiers.map(({ api, tier }) => [clientVariables(api, tier).secret, secretOf(api, tier)]));
    secrets[clientVariables('solar-system', 'gold').secret] = 'wrong-do-not-print';
    const { code, out } = await smoke(secrets);
    assert.equal(code, 2);
    assert.match(out, /token for solar-system\/gold from the stack's user pool \(client client-solar-system-gold\): token endpoint answered HTTP 401 invalid_client/);
    assert.ok(!out.includes('do-not-print'));
  });

  it('an explicit SMOKE_TOKEN_<API>_<TIER> wins over the pool', async () => {
    const env: Record<string, string> = Object.fromEntries(tiers.map(({ api, tier }) => [clientVariables(api, tier).secret, secretOf(api, tier)]));
    env.SMOKE_TOKEN_PET_STORE_READER = 'given-token';
    env[urlVariable('pet-store')] = `${apiBase}/pet-store/`;
    idp.requests.length = 0;
    seen.length = 0;
    await smoke(env);
    assert.ok(!idp.requests.some((r) => r.clientId === idOf('pet-store', 'reader')));
    assert.ok(seen.some((s) => s.auth === 'Bearer given-token'));
  });
});

describe('scripts/smoke.sh with an external IdP: per-API token parameters, per-tier scopes (bin/smoke.ts, real process)', () => {
  const tiers = TABLE.apis.flatMap((a) => Object.keys(a.tiers).map((t) => ({ api: a.name, tier: t })));
  const idp = new TokenEndpoint(Object.fromEntries(tiers.map(({ api, tier }) => [`id-${api}-${tier}`, `secret-${api}-${tier}`])));
  const apis = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  const dir = mkdtempSync(path.join(tmpdir(), 'smoke-external-'));
  let outputsFile = '';
  before(async () => {
    await idp.start();
    await new Promise<void>((r) => apis.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(apis.address() as AddressInfo).port}`;
    outputsFile = path.join(dir, 'outputs.json');
    writeFileSync(outputsFile, JSON.stringify({ 'ApiAuthz-x': { PetStoreUrl: `${base}/pet-store/`, SolarSystemUrl: `${base}/solar-system/` } }));
  });
  after(async () => {
    await idp.stop();
    apis.closeAllConnections();
    await new Promise((r) => apis.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('each API\'s requests carry its own parameters; an empty variable is an unset one', async () => {
    const env: Record<string, string> = { SMOKE_TOKEN_URL: idp.url, SMOKE_TOKEN_PARAMS: 'resource=shared' };
    for (const { api, tier } of tiers) {
      env[clientVariables(api, tier).id] = `id-${api}-${tier}`;
      env[clientVariables(api, tier).secret] = `secret-${api}-${tier}`;
      env[clientVariables(api, tier).scope] = ''; // as CI passes an unset repository variable
    }
    env[tokenParamsVariable('pet-store')] = 'audience=https://petstore.example.com';
    env[tokenParamsVariable('solar-system')] = '';
    env[clientVariables('solar-system', 'gold').scope] = 'api://solar/.default';
    idp.requests.length = 0;
    const { code, out } = await runSmoke(outputsFile, env);
    // Every token was had (exit 2 would be a failed token request); the stand-in APIs answer 200 to all, so checks fail (1).
    assert.equal(code, 1, out);
    assert.equal(idp.requests.length, tiers.length);
    const byClient = new Map(idp.requests.map((r) => [r.clientId, r.form]));
    assert.equal(byClient.get('id-pet-store-reader')?.get('audience'), 'https://petstore.example.com');
    assert.equal(byClient.get('id-pet-store-reader')?.get('resource'), null, 'the per-API value replaces SMOKE_TOKEN_PARAMS');
    assert.equal(byClient.get('id-pet-store-reader')?.get('scope'), TABLE.apis.find((a) => a.name === 'pet-store')!.tiers.reader.scopes.join(' '));
    assert.equal(byClient.get('id-solar-system-gold')?.get('scope'), 'api://solar/.default');
    assert.equal(byClient.get('id-solar-system-gold')?.get('audience'), null);
    assert.equal(byClient.get('id-solar-system-gold')?.get('resource'), 'shared', 'empty per-API value: SMOKE_TOKEN_PARAMS');
  });
});

describe('readClientSecret: app client secrets read with the real aws CLI (moto_server\'s Cognito on loopback)', () => {
  const region = 'eu-west-1';
  const tiers = TABLE.apis.flatMap((a) => poolTiers(a).map(([t]) => ({ api: a.name, tier: t })));
  const clients = new Map<string, { id: string; secret: string }>(); // by `api/tier`
  let moto: Moto;
  let poolId = '';
  let noSecretId = '';
  const dir = mkdtempSync(path.join(tmpdir(), 'smoke-secret-test-'));
  /** An `aws` command against moto; its JSON answer. */
  const aws = (args: string[]): Promise<any> =>
    new Promise((resolve, reject) =>
      execFile('aws', [...args, '--region', region, '--output', 'json'], { env: { ...process.env, ...moto.awsEnv } }, (err, stdout, stderr) =>
        err ? reject(new Error(`aws ${args.slice(0, 2).join(' ')}: ${stderr || err.message}`)) : resolve(JSON.parse(stdout)),
      ),
    );
  const saved: Record<string, string | undefined> = {};
  before(async () => {
    moto = await startMoto();
    poolId = (await aws(['cognito-idp', 'create-user-pool', '--pool-name', 'smoke'])).UserPool.Id;
    for (const { api, tier } of tiers) {
      const c = (await aws(['cognito-idp', 'create-user-pool-client', '--user-pool-id', poolId, '--client-name', `${api}-${tier}`, '--generate-secret'])).UserPoolClient;
      assert.ok(c.ClientId && c.ClientSecret, 'moto made a client with a secret');
      clients.set(`${api}/${tier}`, { id: c.ClientId, secret: c.ClientSecret });
    }
    noSecretId = (await aws(['cognito-idp', 'create-user-pool-client', '--user-pool-id', poolId, '--client-name', 'public'])).UserPoolClient.ClientId;
    // readClientSecret runs the CLI with this process's environment.
    for (const [k, v] of Object.entries(moto.awsEnv)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
  });
  after(async () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await moto?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const pool = () => ({ stack: 'ApiAuthz-dev', userPoolId: poolId, region, tokenEndpoint: 'not-used', clients: {} });

  it('returns each client\'s secret', async () => {
    for (const { id, secret } of clients.values()) assert.equal(await readClientSecret(pool(), id, 10_000), secret);
  });

  it('a client without a secret, an unknown client, an unknown pool: errors naming the client, no secret', async () => {
    await assert.rejects(readClientSecret(pool(), noSecretId, 10_000), new RegExp(`app client ${noSecretId} has no secret`));
    await assert.rejects(readClientSecret(pool(), 'no-such-client', 10_000), (e: Error) => {
      assert.match(e.message, /describe-user-pool-client --client-id no-such-client failed: .*ResourceNotFoundException/s);
      return true;
    });
    const other = { ...pool(), userPoolId: `${region}_nosuchpool` };
    const [some] = clients.values();
    await assert.rejects(readClientSecret(other, some.id, 10_000), (e: Error) => {
      assert.match(e.message, /failed: /);
      for (const { secret } of clients.values()) assert.ok(!e.message.includes(secret));
      return true;
    });
  });

  it('bin/smoke.ts with the pool\'s outputs and no secret variables reads every secret with the CLI and prints none', async () => {
    const idp = new TokenEndpoint(Object.fromEntries([...clients.values()].map((c) => [c.id, c.secret])));
    await idp.start();
    const apis = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    await new Promise<void>((r) => apis.listen(0, '127.0.0.1', r));
    try {
      const apiBase = `http://127.0.0.1:${(apis.address() as AddressInfo).port}`;
      const doc = outputsOfSynthesizedStack((k) => {
        if (k === 'UserPoolId') return poolId;
        if (k === 'TokenEndpoint') return idp.url;
        const api = TABLE.apis.find((a) => k === `${a.name.split('-').map((w) => w[0].toUpperCase() + w.slice(1)).join('')}Url`);
        if (api) return `${apiBase}/${api.name}/`;
        if (!k.endsWith('ClientId')) return `not-read-by-smoke-${k}`;
        const t = tiers.find(({ api, tier }) => k.toLowerCase() === `${api.replace(/-/g, '')}${tier}clientid`);
        assert.ok(t, `a client id output the test does not know: ${k}`);
        return clients.get(`${t.api}/${t.tier}`)!.id;
      });
      const outputsFile = path.join(dir, 'outputs.json');
      writeFileSync(outputsFile, JSON.stringify(doc));
      const { out } = await runSmoke(outputsFile, moto.awsEnv);
      // Every tier's token was granted: the secret the CLI read was the client's.
      const granted = idp.requests.map((r) => r.clientId).sort();
      assert.deepEqual(granted, [...clients.values()].map((c) => c.id).sort(), out);
      assert.doesNotMatch(out, /has no secret|describe-user-pool-client/);
      for (const { secret } of clients.values()) assert.ok(!out.includes(secret), 'a client secret in the output');
      assert.ok(!out.includes('token-of-'), 'a token in the output');
    } finally {
      await idp.stop();
      apis.closeAllConnections();
      await new Promise((r) => apis.close(r));
    }
  });
});
