import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { loadRouteTable } from '../lib/route-table';
import { BAD_TOKEN, joinUrl, planChecks, statusMatches, tokenVariable, urlVariable } from '../lib/smoke';

describe('smoke plan', () => {
  const table = loadRouteTable();
  const urls = { 'pet-store': 'https://p.example/dev/', 'solar-system': 'https://s.example/dev' };

  it('calls every route with no token, a bad token and each tier that has a token', () => {
    const { checks, skips } = planChecks(table, urls, {
      'pet-store': { reader: 'r', writer: 'w', nobody: 'n' },
      'solar-system': { gold: 'g' },
    });
    assert.equal(checks.filter((c) => c.api === 'pet-store').length, 6 * 5);
    assert.equal(checks.filter((c) => c.api === 'solar-system').length, 4 * 3);
    assert.deepEqual(
      skips.map((s) => s.what),
      ['tier editor', 'tier bronze', 'tier silver'],
    );
    // Cedar-decided: the writer may update a pet, not delete one (infra/cedar/pet-store.cedar).
    const cedar = (route: string) => checks.find((c) => c.route === route && c.caller.kind === 'tier' && c.caller.tier === 'writer')!;
    assert.deepEqual([cedar('PUT /pets/{petId}').method, cedar('PUT /pets/{petId}').expected], ['PUT', 200]);
    assert.deepEqual([cedar('DELETE /pets/{petId}').method, cedar('DELETE /pets/{petId}').expected], ['DELETE', 403]);
    const byId = checks.find((c) => c.route === 'GET /pets/{petId}' && c.caller.kind === 'bad')!;
    assert.equal(byId.url, 'https://p.example/dev/pets/1');
    assert.equal(byId.token, BAD_TOKEN);
    assert.equal(byId.expected, 401);
    const post = checks.find((c) => c.route === 'POST /pets' && c.caller.kind === 'tier' && c.caller.tier === 'reader')!;
    assert.equal(post.method, 'POST');
    assert.equal(post.expected, 403);
  });

  it('skips an API without a URL, naming the variable', () => {
    const { checks, skips } = planChecks(table, { 'pet-store': 'https://p.example/' }, {});
    assert.ok(checks.every((c) => c.api === 'pet-store'));
    assert.ok(skips.some((s) => s.api === 'solar-system' && s.why.includes('SMOKE_URL_SOLAR_SYSTEM')));
  });

  it('names variables and joins URLs', () => {
    assert.equal(urlVariable('solar-system'), 'SMOKE_URL_SOLAR_SYSTEM');
    assert.equal(tokenVariable('pet-store', 'reader'), 'SMOKE_TOKEN_PET_STORE_READER');
    assert.equal(joinUrl('https://x/dev/', '/pets'), 'https://x/dev/pets');
    assert.equal(joinUrl('https://x/dev', '/'), 'https://x/dev/');
    assert.ok(statusMatches(200, 201));
    assert.ok(!statusMatches(200, 401));
    assert.ok(!statusMatches(403, 401));
  });
});

/**
 * A stand-in for API Gateway written by hand from the semantics table (not from the code under
 * test), serving both APIs on loopback under /pet-store and /solar-system.
 */
function fakeGateway(wrongOn?: string): Server {
  const scopes: Record<string, string[]> = {
    'tok-reader': ['read'],
    'tok-writer': ['read', 'write'],
    'tok-nobody': ['profile'],
    'tok-editor': ['read'],
    'tok-bronze': ['bronze'],
    'tok-silver': ['silver'],
    'tok-gold': ['gold'],
  };
  const groups: Record<string, string[]> = { 'tok-editor': ['editors'] };
  const routes: Record<string, [string, string[], ('put' | 'delete')?]> = {
    'GET /pet-store/': ['none', []],
    'GET /pet-store/pets': ['token', ['read']],
    'POST /pet-store/pets': ['token', ['write']],
    'GET /pet-store/pets/1': ['request', ['read']],
    // Cedar (infra/cedar/pet-store.cedar): editors update and delete, the write scope updates.
    'PUT /pet-store/pets/1': ['request', [], 'put'],
    'DELETE /pet-store/pets/1': ['request', [], 'delete'],
    'GET /solar-system/': ['none', []],
    'GET /solar-system/asteroids': ['http', []],
    'GET /solar-system/planets': ['http', ['silver', 'gold']],
    'GET /solar-system/moons': ['jwt', ['gold']],
  };
  return createServer((req, res) => {
    const key = `${req.method} ${req.url}`;
    const route = routes[key];
    let status = 404;
    if (route) {
      const [type, need, cedar] = route;
      const auth = req.headers.authorization;
      const token = auth?.startsWith('Bearer ') ? auth.slice(7) : undefined;
      if (type === 'none') status = 200;
      else if (!auth) status = 401;
      else if (!token || !scopes[token]) status = type === 'http' ? 403 : 401;
      else if (cedar) {
        const editor = (groups[token] ?? []).includes('editors');
        status = editor || (cedar === 'put' && scopes[token].includes('write')) ? 200 : 403;
      } else status = need.length === 0 || need.some((s) => scopes[token].includes(s)) ? 200 : 403;
    }
    if (key === wrongOn && req.headers.authorization === undefined) status = 200;
    res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
  });
}

describe('scripts/smoke.sh', () => {
  const exec = promisify(execFile);
  const script = path.join(__dirname, '..', '..', 'scripts', 'smoke.sh');
  let good: Server;
  let bad: Server;
  const base = (s: Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  const env = (s: Server) => ({
    ...process.env,
    [urlVariable('pet-store')]: `${base(s)}/pet-store/`,
    [urlVariable('solar-system')]: `${base(s)}/solar-system`,
    ...Object.fromEntries(
      ['reader', 'writer', 'nobody', 'editor'].map((t) => [tokenVariable('pet-store', t), `tok-${t}`]),
    ),
    ...Object.fromEntries(['bronze', 'silver', 'gold'].map((t) => [tokenVariable('solar-system', t), `tok-${t}`])),
  });

  before(async () => {
    good = fakeGateway();
    bad = fakeGateway('GET /solar-system/moons');
    await Promise.all([good, bad].map((s) => new Promise<void>((r) => s.listen(0, '127.0.0.1', r))));
  });
  after(() => {
    good.close();
    bad.close();
  });

  it('--help explains the variables', async () => {
    const { stdout } = await exec(script, ['--help']);
    assert.match(stdout, /SMOKE_URL_<API>/);
    assert.match(stdout, /SMOKE_TOKEN_<API>_<TIER>/);
  });

  it('passes every check against a gateway that follows the semantics table', async () => {
    const { stdout } = await exec(script, [], { env: env(good) });
    assert.match(stdout, /^56 passed, 0 failed, 0 skipped$/m);
    assert.doesNotMatch(stdout, /^FAIL/m);
  });

  it('fails, naming the route and caller, when an answer differs', async () => {
    await assert.rejects(exec(script, [], { env: env(bad) }), (e: { code: number; stdout: string }) => {
      assert.equal(e.code, 1);
      assert.match(e.stdout, /^FAIL {2}solar-system {2}GET \/moons {2}\[jwt\] {2}no token: expected 401, got 200$/m);
      assert.match(e.stdout, /^55 passed, 1 failed, 0 skipped$/m);
      return true;
    });
  });

  it('refuses a route table that synth refuses, with the same message, and exits 2', async () => {
    // The golden case the local mode and the load test refuse too (tests/golden/).
    const golden = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'tests', 'golden', 'invalid-route-tables.json'), 'utf8')) as {
      cases: { table: unknown; problems: string[] }[];
    };
    const dir = mkdtempSync(path.join(tmpdir(), 'smoke-routes-'));
    const file = path.join(dir, 'routes.json');
    writeFileSync(file, JSON.stringify(golden.cases[0].table));
    try {
      await assert.rejects(exec(script, ['--routes', file, '--dry-run']), (e: { code: number; stderr: string }) => {
        assert.equal(e.code, 2);
        assert.equal(e.stderr, `smoke: routes.json is not a valid route table:\n  - ${golden.cases[0].problems.join('\n  - ')}\n`);
        return true;
      });
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('with no URL at all, says so and exits 2', async () => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SMOKE_')));
    await assert.rejects(exec(script, [], { env: clean }), (e: { code: number; stderr: string }) => {
      assert.equal(e.code, 2);
      assert.match(e.stderr, /nothing to check/);
      return true;
    });
  });
});
