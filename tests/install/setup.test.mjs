// An interrupted set-up heals itself, and two set-ups at once do not corrupt each other
// (scripts/lib/install.sh, through scripts/test-tools.sh). Each test works in a scratch copy of
// the checkout's install scripts and lock files (a temp directory), so this checkout's .venv and
// node_modules are never touched. The packages come from the registries: moto's wheels are
// downloaded once (`pip download`) into a wheelhouse every install of the test then reads (pip
// keeps no cache on every machine), npm's from its cache. Run by scripts/test-install.sh
// (scripts/test.sh runs that).
//
// An install is interrupted by SIGKILL to its whole process group (no clean-up handler runs: the
// worst case of Ctrl-C or a closed terminal) at several points of a measured clean install
// (early, middle, late), then run again: the second run must succeed and leave a tree that works.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const COPY = ['scripts/test-tools.sh', 'scripts/lib/install.sh', 'tests/idp/package.json', 'tests/idp/package-lock.json'];
const scratches = [];
after(() => scratches.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

// The install process groups still running: killed when this test process ends, however it ends.
const groups = new Set();
const killAll = () => groups.forEach(killGroup);
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    killAll();
    process.exit(1);
  });
}

// pip's environment for every install of the test: moto's wheels from the wheelhouse only.
const pipEnv = {};
before(async () => {
  const wheels = fs.mkdtempSync(path.join(os.tmpdir(), 'authz-setup-test-wheels-'));
  scratches.push(wheels);
  const spec = fs.readFileSync(path.join(ROOT, 'scripts/lib/install.sh'), 'utf8').match(/^MOTO_VERSION=(\S+)$/m)[1];
  const r = spawnSync('python3', ['-m', 'pip', 'download', '--quiet', '--dest', wheels, `moto[server]==${spec}`], { encoding: 'utf8' });
  assert.equal(r.status, 0, `pip download moto: ${r.stderr}`);
  Object.assign(pipEnv, { PIP_FIND_LINKS: wheels, PIP_NO_INDEX: '1' });
});

/** A scratch checkout holding what the install steps read. */
function scratch() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'authz-setup-test-'));
  scratches.push(dir);
  for (const f of COPY) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
  }
  return dir;
}

/**
 * Runs `scripts/test-tools.sh ...args` in `dir` in its own process group; with `killAfterMs`, the
 * group is SIGKILLed then. Resolves to { code, signal, stderr, ms }.
 */
function setup(dir, args, killAfterMs) {
  return new Promise((resolve) => {
    const start = Date.now();
    const child = spawn('bash', [path.join(dir, 'scripts/test-tools.sh'), ...args], {
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ...pipEnv },
    });
    groups.add(child.pid);
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => killGroup(child.pid), killAfterMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      // What the group's other members did after the kill is over too.
      killGroup(child.pid);
      groups.delete(child.pid);
      resolve({ code, signal, stderr, ms: Date.now() - start });
    });
  });
}

function killGroup(pid) {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** The venv in `dir` holds moto 5.2.5 and its server imports; asserted with the venv's python. */
function assertMotoWorks(dir) {
  const r = spawnSync(path.join(dir, '.venv/bin/python'), ['-c',
    "import importlib.metadata as m, moto.server; assert m.version('moto') == '5.2.5', m.version('moto')"], { encoding: 'utf8' });
  assert.equal(r.status, 0, `moto does not import from the healed .venv: ${r.stderr}`);
}

/** tests/idp in `dir` has oidc-provider and a complete tree (npm ls). */
function assertIdpWorks(dir) {
  const idp = path.join(dir, 'tests/idp');
  const r = spawnSync('node', ['--input-type=module', '-e', "await import('oidc-provider')"], { cwd: idp, encoding: 'utf8' });
  assert.equal(r.status, 0, `oidc-provider does not load: ${r.stderr}`);
  const ls = spawnSync('npm', ['ls', '--all'], { cwd: idp, encoding: 'utf8' });
  assert.equal(ls.status, 0, `npm ls: ${ls.stdout}${ls.stderr}`);
}

/** Interrupts `args`'s install at each fraction of a clean install's time; the rerun must heal. */
async function interruptEverywhere(args, fractions, assertWorks) {
  const clean = await setup(scratch(), args);
  assert.equal(clean.code, 0, clean.stderr);
  let interrupted = 0;
  for (const fraction of fractions) {
    const dir = scratch();
    const at = Math.round(clean.ms * fraction);
    const cut = await setup(dir, args, at);
    if (cut.signal === 'SIGKILL') interrupted += 1;
    const again = await setup(dir, args);
    assert.equal(again.code, 0, `after an interrupt at ${at} ms (${fraction} of ${clean.ms} ms; first run: ${cut.signal ?? cut.code}):\n${again.stderr}`);
    assertWorks(dir);
    // And once healed, a third run has nothing to do.
    const third = await setup(dir, args);
    assert.equal(third.code, 0, third.stderr);
    assert.equal(third.stderr, '', `a complete install was done again:\n${third.stderr}`);
  }
  // Timing varies with the machine's load: the latest point may finish first, the others may not.
  assert.ok(interrupted >= fractions.length - 1, `only ${interrupted} of ${fractions.length} installs were interrupted`);
}

describe('an interrupted set-up heals itself', () => {
  test('the .venv with moto, interrupted early, in the middle and late', { timeout: 900_000 }, async () => {
    await interruptEverywhere(['moto'], [0.05, 0.5, 0.9], assertMotoWorks);
  });

  test('tests/idp/node_modules (npm ci), interrupted early, in the middle and late', { timeout: 600_000 }, async () => {
    await interruptEverywhere(['idp'], [0.1, 0.5, 0.9], assertIdpWorks);
  });

  test('issue 27: the group killed 1.5 s into the first install; the next run says what it repairs', { timeout: 600_000 }, async () => {
    const dir = scratch();
    await setup(dir, ['moto'], 1500);
    const again = await setup(dir, ['moto']);
    assert.equal(again.code, 0, again.stderr);
    assertMotoWorks(dir);
    // A venv without pip (what an interrupted `python3 -m venv` leaves): one line, then a rebuild.
    const broken = scratch();
    assert.equal(spawnSync('python3', ['-m', 'venv', '--without-pip', path.join(broken, '.venv')]).status, 0);
    const healed = await setup(broken, ['moto']);
    assert.equal(healed.code, 0, healed.stderr);
    assert.match(healed.stderr, /^setup: \.venv has no working python or pip \(an interrupted set-up\?\): removing it and creating it again$/m);
    assertMotoWorks(broken);
  });
});

describe('two set-ups at once in one checkout', () => {
  test('both succeed, one waits for the other, and the trees work', { timeout: 900_000 }, async () => {
    const dir = scratch();
    const [a, b] = await Promise.all([setup(dir, ['all']), setup(dir, ['all'])]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    assert.match(a.stderr + b.stderr, /setup: waiting for another set-up of this checkout to finish/);
    assertMotoWorks(dir);
    assertIdpWorks(dir);
  });
});
