// What ships and how it is deployed: the Dockerfile's final stage, the compiled code it copies,
// the kustomize manifests in deploy/, and docker-compose.yml. Pure: no server, no Docker.
// The manifests are checked against the code (secrets dir, token file name, config schema,
// shutdown grace, CLI commands), so a change on either side that breaks a deployment fails here.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { SCHEDULE_ACTIONS } from '../src/cli/schedule';
import { buildProgram } from '../src/cli/main';
import { DEFAULT_SECRETS_DIR, TOKEN_FILE_NAME } from '../src/config/defaults';
import { loadConfig } from '../src/config/load';
import { exportedSeries, METRICS, type MetricKey } from '../src/domain/metrics';
import { PREBUILT_WORKFLOW_BUNDLE } from '../src/workflowBundle';
import { DASHBOARD_FILE, dashboardExpressions, groupingLabels, metricNames, ruleExpressions, TARGET_LABELS } from './helpers/promql';
import { filesUnder } from './helpers/files';

// Compiled tests run from dist/test/.
const REPO = path.resolve(__dirname, '../..');
const DIST_SRC = path.resolve(__dirname, '../src');
const SECRET_NAME = 'osc-build-watcher-gangway';

type Obj = Record<string, any>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const rel = (file: string) => path.relative(REPO, file).split(path.sep).join('/');

/** Every document of a YAML file; a syntax error fails the test that reads it. */
function yamlDocs(file: string): unknown[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((doc) => {
    assert.deepEqual(doc.errors.map((e) => e.message), [], `${rel(file)}: YAML errors`);
    return doc.toJS();
  });
}

/** The default config, and `shutdownGrace` as the code reads it. */
const defaultShutdownGraceMs = loadConfig({ env: {} }).shutdownGraceMs;

function cliCommandProblem(args: unknown): string | undefined {
  if (!Array.isArray(args) || args.length === 0 || !args.every((a) => typeof a === 'string')) return 'not a list of strings';
  const commands = buildProgram().commands.map((c) => c.name());
  if (!commands.includes(args[0])) return `"${args[0]}" is not a CLI command (${commands.join(', ')})`;
  if (args[0] === 'schedule' && !(SCHEDULE_ACTIONS as readonly string[]).includes(args[1])) return `"schedule ${args[1]}" is not a schedule action`;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Dockerfile

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}
interface Stage {
  image: string;
  name?: string;
  instructions: Instruction[];
}

/** Instructions with continuation lines joined and comments dropped, grouped by FROM. */
function parseDockerfile(text: string): Stage[] {
  const instructions: Instruction[] = [];
  let buffer = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd();
    if (/^\s*#/.test(line)) return;
    if (!buffer) start = i + 1;
    if (line.endsWith('\\')) {
      buffer += `${line.slice(0, -1)} `;
      return;
    }
    buffer += line;
    const m = /^\s*(\S+)\s*([\s\S]*)$/.exec(buffer);
    if (m) instructions.push({ keyword: m[1].toUpperCase(), args: m[2].trim(), line: start });
    buffer = '';
  });
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const words = ins.args.split(/\s+/).filter((w) => !w.startsWith('--'));
      const asAt = words.findIndex((w) => w.toUpperCase() === 'AS');
      stages.push({ image: words[0], ...(asAt > 0 ? { name: words[asAt + 1] } : {}), instructions: [] });
    } else {
      assert.ok(stages.length > 0, `Dockerfile line ${ins.line}: ${ins.keyword} before FROM`);
      stages[stages.length - 1].instructions.push(ins);
    }
  }
  return stages;
}

interface Copy {
  from?: string;
  sources: string[];
  dest: string;
  index: number;
  line: number;
}

function copiesOf(stage: Stage): Copy[] {
  return stage.instructions.flatMap((ins, index) => {
    if (ins.keyword !== 'COPY' && ins.keyword !== 'ADD') return [];
    let words = ins.args.split(/\s+/);
    const flags = words.filter((w) => w.startsWith('--'));
    words = words.filter((w) => !w.startsWith('--'));
    if (words[0]?.startsWith('[')) words = JSON.parse(words.join(' ')) as string[];
    const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
    return [{ ...(from ? { from } : {}), sources: words.slice(0, -1), dest: words[words.length - 1], index, line: ins.line }];
  });
}

function workdirOf(stage: Stage, before = Infinity): string {
  let dir = '/';
  stage.instructions.forEach((ins, i) => {
    if (i < before && ins.keyword === 'WORKDIR') dir = path.posix.resolve(dir, ins.args);
  });
  return dir;
}

function execForm(stage: Stage, keyword: string): unknown {
  const found = stage.instructions.filter((i) => i.keyword === keyword).pop();
  assert.ok(found, `final stage has no ${keyword}`);
  return JSON.parse(found.args);
}

describe('Dockerfile', () => {
  const stages = parseDockerfile(readFileSync(path.join(REPO, 'Dockerfile'), 'utf8'));
  const final = stages[stages.length - 1];
  const workdir = workdirOf(final);
  const copies = copiesOf(final);
  const stageNamed = (name: string) => stages.find((s) => s.name === name || String(stages.indexOf(s)) === name);

  test('is multi-stage, and the final stage starts from the build stage\'s node:20 base', () => {
    assert.ok(stages.length >= 2, 'expected a build stage and a final stage');
    assert.match(final.image, /^node:20-bookworm-slim$/);
    for (const copy of copies.filter((c) => c.from)) {
      const source = stageNamed(copy.from!);
      assert.ok(source, `COPY --from=${copy.from}: no such stage`);
      assert.equal(source.image, final.image, `stage ${copy.from} and the final stage use different bases`);
    }
  });

  test('the final stage copies no tests, scripts, simulators or TypeScript sources', () => {
    assert.ok(copies.length > 0);
    for (const copy of copies) {
      for (const raw of copy.sources) {
        const where = `Dockerfile line ${copy.line}: COPY ${raw}`;
        if (copy.from) {
          const source = stageNamed(copy.from)!;
          const p = path.posix.resolve(workdirOf(source), raw);
          const sourceWorkdir = workdirOf(source);
          // Copying the whole tree (or all of dist/) would bring dist/test and dist/scripts.
          assert.ok(p !== sourceWorkdir && p !== `${sourceWorkdir}/dist` && p !== '/', `${where}: copies a whole tree`);
          assert.doesNotMatch(p, /\/(test|scripts|simulators)(\/|$)/, `${where}: tests, scripts or simulators`);
          assert.ok(!p.startsWith(`${sourceWorkdir}/src`), `${where}: the TypeScript sources`);
          assert.doesNotMatch(p, /\.ts$|[*?]/, `${where}: TypeScript or a wildcard`);
        } else {
          const p = path.posix.normalize(raw).replace(/\/$/, '');
          assert.ok(p !== '.' && !/[*?]/.test(p), `${where}: the whole build context`);
          assert.doesNotMatch(p, /^(src|test|scripts|dist)(\/|$)/, `${where}: sources, tests, scripts or an unbuilt dist`);
          assert.doesNotMatch(p, /\.ts$/, `${where}: TypeScript`);
        }
      }
    }
  });

  test('dist/src/simulators is removed after the build, before dist/src is copied', () => {
    const distCopy = copies.find((c) => c.sources.some((s) => /dist\/src\/?$/.test(s)));
    assert.ok(distCopy?.from, 'the final stage copies dist/src from a build stage');
    const build = stageNamed(distCopy.from!)!;
    const runs = build.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    const builtAt = runs.findIndex((r) => r.includes('npm run build'));
    assert.ok(builtAt >= 0, `stage ${distCopy.from} runs npm run build`);
    const removes = /rm\s+-(rf|fr|r)\s+(\S+\s+)*(\.\/)?dist\/src\/simulators\/?(\s|$)/;
    const removed = runs.some((r, i) => {
      if (i < builtAt) return false;
      const m = removes.exec(r);
      return m !== null && (i > builtAt || m.index > r.indexOf('npm run build'));
    });
    assert.ok(removed, `stage ${distCopy.from} removes dist/src/simulators after npm run build`);
  });

  test('the prebuilt workflow bundle is copied where the code looks for it, after dist/src', () => {
    const bundleRel = rel(PREBUILT_WORKFLOW_BUNDLE);
    assert.equal(bundleRel, 'dist/workflow-bundle.js');
    const distCopy = copies.find((c) => c.sources.some((s) => /dist\/src\/?$/.test(s)));
    const bundleCopy = copies.find((c) => c.sources.some((s) => s.endsWith('/workflow-bundle.js')));
    assert.ok(distCopy && bundleCopy, 'both dist/src and the bundle are copied');
    assert.equal(path.posix.resolve(workdirOf(final, distCopy.index), distCopy.dest), `${workdir}/dist/src`);
    assert.equal(path.posix.resolve(workdirOf(final, bundleCopy.index), bundleCopy.dest), `${workdir}/${bundleRel}`);
    // The bundle is ignored when older than the compiled workflows (src/workflowBundle.ts).
    assert.ok(bundleCopy.index > distCopy.index, 'the bundle must be copied after dist/src, so it is not older');
  });

  test('production dependencies only, without install scripts', () => {
    const npmCi = final.instructions.filter((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args));
    assert.equal(npmCi.length, 1, 'one npm ci in the final stage');
    assert.match(npmCi[0].args, /--omit=dev/);
    assert.match(npmCi[0].args, /--ignore-scripts/);
  });

  test('runs as a numeric non-root USER', () => {
    const users = final.instructions.filter((i) => i.keyword === 'USER');
    assert.ok(users.length > 0, 'the final stage sets USER');
    const user = users[users.length - 1].args;
    const m = /^(\d+)(:\d+)?$/.exec(user);
    assert.ok(m, `USER ${user}: numeric, so that Kubernetes can check runAsNonRoot`);
    assert.notEqual(Number(m[1]), 0, 'USER 0 is root');
  });

  test('ENTRYPOINT is the CLI, CMD the worker', () => {
    const entrypoint = execForm(final, 'ENTRYPOINT');
    assert.deepEqual(entrypoint, ['node', 'dist/src/cli/main.js']);
    assert.deepEqual(execForm(final, 'CMD'), ['worker']);
    // The script is inside what is copied, and the build makes it.
    const script = path.posix.resolve(workdir, (entrypoint as string[])[1]);
    assert.ok(script.startsWith(`${workdir}/dist/src/`));
    assert.ok(existsSync(path.join(DIST_SRC, 'cli', 'main.js')), 'dist/src/cli/main.js exists after npm run build');
  });

  test('.dockerignore keeps secrets and local trees out, and nothing the build stage copies', () => {
    const ignored = readFileSync(path.join(REPO, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim().replace(/^\/|\/$/g, ''))
      .filter((l) => l && !l.startsWith('#'));
    for (const name of ['node_modules', 'dist', '.tools', '.git', 'secrets']) assert.ok(ignored.includes(name), `.dockerignore lists ${name}`);
    for (const stage of stages) {
      for (const copy of copiesOf(stage).filter((c) => !c.from)) {
        for (const source of copy.sources) {
          const top = path.posix.normalize(source).split('/')[0];
          assert.ok(!ignored.includes(top), `.dockerignore excludes ${source}, which the Dockerfile copies`);
        }
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Compiled code: what the image ships must not need the simulators.

describe('compiled code', () => {
  const simulators = path.join(DIST_SRC, 'simulators');
  const relativeRequires = (file: string) =>
    [...readFileSync(file, 'utf8').matchAll(/require\(["'](\.{1,2}\/[^"']*)["']\)/g)].map((m) => path.resolve(path.dirname(file), m[1]));
  const inside = (dir: string, p: string) => p === dir || p.startsWith(dir + path.sep);

  test('no file outside dist/src/simulators imports the simulators, or anything outside dist/src', () => {
    const files = filesUnder(DIST_SRC).filter((f) => f.endsWith('.js') && !inside(simulators, f));
    assert.ok(files.length >= 20, `expected the compiled sources in ${DIST_SRC}`);
    let seen = 0;
    for (const file of files) {
      for (const target of relativeRequires(file)) {
        seen++;
        assert.ok(!inside(simulators, target), `${rel(file)} requires ${rel(target)}`);
        assert.ok(inside(DIST_SRC, target), `${rel(file)} requires ${rel(target)}, which the image does not ship`);
      }
    }
    assert.ok(seen >= 20, 'relative requires were found (the pattern matches what tsc emits)');
  });

  test('the same scan finds the requires between simulator files (it can see one)', () => {
    const found = filesUnder(simulators)
      .filter((f) => f.endsWith('.js'))
      .flatMap(relativeRequires)
      .filter((t) => inside(simulators, t));
    assert.ok(found.length > 0);
  });
});

// ---------------------------------------------------------------------------------------------
// deploy/: kustomize base and overlays

interface Kustomization {
  file: string;
  dir: string;
  data: Obj;
}

describe('deploy/ manifests', () => {
  const deployDir = path.join(REPO, 'deploy');
  const yamlFiles = filesUnder(deployDir).filter((f) => /\.ya?ml$/.test(f));
  const kustomizations: Kustomization[] = yamlFiles
    .filter((f) => path.basename(f) === 'kustomization.yaml')
    .map((file) => ({ file, dir: path.dirname(file), data: yamlDocs(file)[0] as Obj }));
  const kustomizationAt = (dir: string) => kustomizations.find((k) => k.dir === path.resolve(deployDir, dir));
  const base = kustomizationAt('base');
  const overlay = kustomizationAt('overlays/example');

  /** `files:` entries of configMapGenerator: `key=path` or `path` (key = file name). */
  const generatedFiles = kustomizations.flatMap((k) =>
    ((k.data.configMapGenerator ?? []) as Obj[]).flatMap((g) =>
      ((g.files ?? []) as string[]).map((entry) => {
        const [key, file] = entry.includes('=') ? entry.split('=', 2) : [path.posix.basename(entry), entry];
        return { generator: g.name as string, kustomization: k, key, file: path.resolve(k.dir, file) };
      }),
    ),
  );
  const manifestFiles = yamlFiles.filter((f) => path.basename(f) !== 'kustomization.yaml' && !generatedFiles.some((g) => g.file === f));
  const objects = manifestFiles.flatMap((file) => yamlDocs(file).map((doc) => ({ file, doc: doc as Obj })));
  const ofKind = (kind: string) => objects.filter((o) => isObj(o.doc) && o.doc.kind === kind).map((o) => o.doc);
  const deployment = ofKind('Deployment')[0];
  const job = ofKind('Job')[0];
  const workloads = [deployment, job].filter(Boolean);
  const podSpec = (w: Obj) => w.spec.template.spec as Obj;
  const containerOf = (w: Obj) => podSpec(w).containers[0] as Obj;
  const envOf = (w: Obj, name: string) => ((containerOf(w).env ?? []) as Obj[]).find((e) => e.name === name);
  const mountOf = (w: Obj, volumeMatches: (v: Obj) => boolean) => {
    const volume = ((podSpec(w).volumes ?? []) as Obj[]).find(volumeMatches);
    const mount = volume && ((containerOf(w).volumeMounts ?? []) as Obj[]).find((m) => m.name === volume.name);
    return { volume, mount };
  };
  const baseGenerator = (name: string) => ((base?.data.configMapGenerator ?? []) as Obj[]).find((g) => g.name === name);
  const configFile = generatedFiles.find((g) => g.kustomization === base && g.key === 'config.yaml');

  test('a base, an example overlay, and every YAML file parses', () => {
    assert.ok(base, 'deploy/base/kustomization.yaml');
    assert.ok(overlay, 'deploy/overlays/example/kustomization.yaml');
    assert.ok(deployment, 'a Deployment');
    assert.ok(job, 'a Job');
  });

  test('every kustomization lists only what exists, and every manifest is listed', () => {
    const listed = new Set<string>();
    for (const k of kustomizations) {
      assert.equal(k.data.apiVersion, 'kustomize.config.k8s.io/v1beta1', rel(k.file));
      assert.equal(k.data.kind, 'Kustomization', rel(k.file));
      for (const entry of [...((k.data.resources ?? []) as string[]), ...((k.data.components ?? []) as string[])]) {
        const p = path.resolve(k.dir, entry);
        assert.ok(existsSync(p), `${rel(k.file)}: ${entry} does not exist`);
        if (statSync(p).isDirectory()) assert.ok(existsSync(path.join(p, 'kustomization.yaml')), `${rel(k.file)}: ${entry} has no kustomization.yaml`);
        listed.add(p);
      }
    }
    for (const g of generatedFiles) assert.ok(existsSync(g.file), `${rel(g.kustomization.file)}: ${rel(g.file)} does not exist`);
    for (const file of manifestFiles) assert.ok(listed.has(file), `${rel(file)} is in no kustomization's resources`);
  });

  test('every object has apiVersion, kind and metadata.name; no Secret is kept here', () => {
    assert.ok(objects.length >= 2);
    for (const { file, doc } of objects) {
      assert.ok(isObj(doc), `${rel(file)}: a document is not an object`);
      assert.equal(typeof doc.apiVersion, 'string', `${rel(file)}: apiVersion`);
      assert.equal(typeof doc.kind, 'string', `${rel(file)}: kind`);
      assert.ok(isObj(doc.metadata) && typeof doc.metadata.name === 'string' && doc.metadata.name, `${rel(file)}: metadata.name`);
      assert.notEqual(doc.kind, 'Secret', `${rel(file)}: the Gangway token is created by hand, never kept in the repository`);
    }
    for (const k of kustomizations) assert.equal(k.data.secretGenerator, undefined, `${rel(k.file)}: no secretGenerator`);
  });

  test('the Deployment runs `worker`, the Job `schedule apply`, each with an image and CLI args', () => {
    for (const w of workloads) {
      const containers = podSpec(w).containers as Obj[];
      assert.ok(Array.isArray(containers) && containers.length > 0, `${w.metadata.name}: containers`);
      for (const c of containers) {
        assert.equal(typeof c.image, 'string', `${w.metadata.name}/${c.name}: image`);
        assert.equal(cliCommandProblem(c.args), undefined, `${w.metadata.name}/${c.name}: args`);
      }
    }
    assert.deepEqual(containerOf(deployment).args, ['worker']);
    assert.deepEqual(containerOf(job).args, ['schedule', 'apply']);
    // The workers share one Gangway budget, so any number may run; Recreate keeps two releases'
    // workflow code from running side by side.
    assert.ok(Number.isInteger(deployment.spec.replicas) && deployment.spec.replicas >= 1, 'replicas');
    assert.equal(deployment.spec.strategy?.type, 'Recreate', 'old workers stop before new ones start');
  });

  test('the Deployment and the Job name the same image, which the kustomizations\' images replace', () => {
    const imageName = (image: string) => image.split('@')[0].replace(/:[^/:]+$/, '');
    const names = workloads.map((w) => imageName(containerOf(w).image));
    assert.equal(new Set(names).size, 1, `different images: ${names.join(', ')}`);
    for (const k of [base!, overlay!]) {
      const images = (k.data.images ?? []) as Obj[];
      assert.ok(images.some((i) => i.name === names[0]), `${rel(k.file)}: images has no entry named ${names[0]}`);
    }
    const own = ((overlay!.data.images ?? []) as Obj[]).find((i) => i.name === names[0])!;
    assert.ok(own.newName || own.digest, 'the example overlay says where the image is');
  });

  test('the Gangway token Secret is mounted read-only at the code\'s secrets dir', () => {
    const { volume, mount } = mountOf(deployment, (v) => v.secret?.secretName === SECRET_NAME);
    assert.ok(volume && mount, `the worker mounts Secret ${SECRET_NAME}`);
    assert.equal(mount.mountPath, DEFAULT_SECRETS_DIR);
    assert.equal(mount.readOnly, true);
    assert.equal(mount.subPath, undefined, 'no subPath: a rotated token must reach the running worker');
    if (volume.secret.items) {
      assert.ok((volume.secret.items as Obj[]).some((i) => i.key === TOKEN_FILE_NAME && i.path === TOKEN_FILE_NAME), `item ${TOKEN_FILE_NAME}`);
    }
  });

  test('WATCHER_CONFIG is the ConfigMap mount path plus its config.yaml key', () => {
    assert.ok(configFile, 'deploy/base/kustomization.yaml generates a ConfigMap with config.yaml');
    for (const w of workloads) {
      const { mount } = mountOf(w, (v) => v.configMap?.name === configFile.generator);
      assert.ok(mount, `${w.metadata.name} mounts ConfigMap ${configFile.generator}`);
      assert.equal(mount.readOnly, true, `${w.metadata.name}: read-only`);
      assert.equal(envOf(w, 'WATCHER_CONFIG')?.value, path.posix.join(mount.mountPath, configFile.key), `${w.metadata.name}: WATCHER_CONFIG`);
    }
  });

  test('the Temporal address and namespace come from the generated ConfigMap', () => {
    for (const w of workloads) {
      for (const name of ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE']) {
        const env = envOf(w, name);
        assert.ok(env, `${w.metadata.name}: ${name}`);
        const ref = env.valueFrom?.configMapKeyRef as Obj | undefined;
        if (!ref) {
          assert.equal(typeof env.value, 'string', `${w.metadata.name}: ${name} has a value`);
          continue;
        }
        const literals = (baseGenerator(ref.name)?.literals ?? []) as string[];
        assert.ok(literals.some((l) => l.startsWith(`${ref.key}=`)), `${w.metadata.name}: ${name} refers to ${ref.name}/${ref.key}, which the base does not generate`);
      }
    }
  });

  test('the ConfigMap\'s config.yaml loads with loadConfig, and names the mounted token file', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'osc-watcher-deploy-'));
    const file = path.join(dir, 'config.yaml');
    writeFileSync(file, readFileSync(configFile!.file, 'utf8'));
    const config = loadConfig({ configPath: file, env: {} });
    const { mount } = mountOf(deployment, (v) => v.secret?.secretName === SECRET_NAME);
    assert.equal(config.gangway.tokenFile, path.posix.join(mount!.mountPath, TOKEN_FILE_NAME));
    assert.ok(config.versions.length > 0 && config.versions.every((v) => v.jobs.length > 0));
  });

  test('the pod outlives the worker\'s shutdown grace', () => {
    const configured = loadConfig({ configPath: configFile!.file, env: {} }).shutdownGraceMs;
    const seconds = podSpec(deployment).terminationGracePeriodSeconds;
    assert.equal(typeof seconds, 'number', 'terminationGracePeriodSeconds is set (the default is 30 s)');
    assert.ok(seconds * 1000 > defaultShutdownGraceMs, `${seconds} s <= default shutdownGrace ${defaultShutdownGraceMs} ms`);
    assert.ok(seconds * 1000 > configured, `${seconds} s <= shutdownGrace in config.yaml (${configured} ms)`);
  });

  test('non-root, no privilege escalation, no capabilities, read-only root; no fixed UID (OpenShift assigns one)', () => {
    for (const w of workloads) {
      const pod = podSpec(w);
      const container = containerOf(w);
      assert.equal(pod.securityContext?.runAsNonRoot, true, `${w.metadata.name}: runAsNonRoot`);
      assert.equal(container.securityContext?.allowPrivilegeEscalation, false, `${w.metadata.name}: allowPrivilegeEscalation`);
      assert.ok((container.securityContext?.capabilities?.drop ?? []).includes('ALL'), `${w.metadata.name}: drop ALL`);
      assert.equal(container.securityContext?.readOnlyRootFilesystem, true, `${w.metadata.name}: readOnlyRootFilesystem`);
      assert.equal(pod.securityContext?.runAsUser, undefined, `${w.metadata.name}: runAsUser breaks OpenShift's restricted SCC`);
      assert.equal(container.securityContext?.runAsUser, undefined, `${w.metadata.name}: runAsUser breaks OpenShift's restricted SCC`);
    }
  });

  test('memory requests and limits fit the worker (peak RSS under 400 MB, test/faults.test.ts)', () => {
    const bytes = (q: string) => {
      const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|k|M|G)?$/.exec(String(q));
      assert.ok(m, `quantity ${q}`);
      const unit = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, k: 1e3, M: 1e6, G: 1e9 }[m[2] as 'Ki'] ?? 1;
      return Number(m[1]) * unit;
    };
    const resources = containerOf(deployment).resources as Obj;
    assert.ok(resources?.requests?.memory && resources?.requests?.cpu, 'requests');
    assert.ok(resources?.limits?.memory, 'a memory limit');
    assert.ok(bytes(resources.limits.memory) >= 400e6, `memory limit ${resources.limits.memory} is below the 400 MB the worker may reach`);
    assert.ok(bytes(resources.requests.memory) <= bytes(resources.limits.memory));
  });

  test('the example overlay sets a namespace and builds on the base', () => {
    assert.equal(typeof overlay!.data.namespace, 'string');
    assert.ok(((overlay!.data.resources ?? []) as string[]).some((r) => path.resolve(overlay!.dir, r) === base!.dir));
  });
});

// ---------------------------------------------------------------------------------------------
// docker-compose.yml

describe('docker-compose.yml', () => {
  const compose = yamlDocs(path.join(REPO, 'docker-compose.yml'))[0] as Obj;
  const services = compose.services as Record<string, Obj>;
  const built = Object.entries(services).filter(([, s]) => s.build !== undefined);
  const worker = built.find(([, s]) => Array.isArray(s.command) && s.command[0] === 'worker');
  const mounts = (s: Obj) =>
    ((s.volumes ?? []) as (string | Obj)[]).map((v) => {
      if (typeof v !== 'string') return { source: v.source as string, target: v.target as string, readOnly: v.read_only === true };
      const [source, target, mode] = v.split(':');
      return { source, target, readOnly: (mode ?? '').split(',').includes('ro') };
    });
  const seconds = (d: string) => {
    const m = /^(\d+)(ms|s|m|h)$/.exec(d);
    assert.ok(m, `duration ${d}`);
    return Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] as 's'];
  };

  test('no deprecated auto-setup image; the Temporal images are pinned', () => {
    for (const [name, s] of Object.entries(services)) {
      if (s.image === undefined) continue;
      assert.doesNotMatch(String(s.image), /auto-setup/, `${name}: temporalio/auto-setup is deprecated`);
      if (String(s.image).startsWith('temporalio/')) assert.match(String(s.image), /:\d+\.\d+\.\d+$/, `${name}: pin the version`);
    }
  });

  test('the namespace is created with 720 h retention', () => {
    const lines = Object.values(services)
      .flatMap((s) => [s.entrypoint, s.command].flat())
      .filter((part): part is string => typeof part === 'string')
      .flatMap((part) => part.split('\n'));
    const creates = lines.filter((l) => /namespace create\b/.test(l));
    assert.ok(creates.length > 0, 'a service creates the namespace');
    for (const line of creates) assert.match(line, /--retention[ =](720h|30d)\b/, `no 720 h retention: ${line.trim()}`);
  });

  test('the built services run CLI commands: a worker, and schedule apply', () => {
    assert.ok(worker, 'a service built from the Dockerfile runs `worker`');
    assert.ok(built.some(([, s]) => JSON.stringify(s.command) === JSON.stringify(['schedule', 'apply'])), 'a service runs `schedule apply`');
    for (const [name, s] of built) assert.equal(cliCommandProblem(s.command), undefined, `${name}: command`);
  });

  test('the worker gets the token read-only at the code\'s secrets dir', () => {
    const secret = mounts(worker![1]).find((m) => m.target === DEFAULT_SECRETS_DIR);
    assert.ok(secret, `the worker mounts something at ${DEFAULT_SECRETS_DIR}`);
    assert.equal(secret.readOnly, true);
  });

  test('WATCHER_CONFIG is a mounted file of the repository that loads', () => {
    for (const [name, s] of built) {
      const configPath = (s.environment ?? {}).WATCHER_CONFIG as string | undefined;
      if (configPath === undefined) continue;
      const mount = mounts(s).find((m) => m.target === configPath);
      assert.ok(mount, `${name}: WATCHER_CONFIG ${configPath} is not mounted`);
      assert.equal(mount.readOnly, true);
      const file = path.resolve(REPO, mount.source);
      assert.ok(existsSync(file), `${name}: ${mount.source} does not exist`);
      assert.equal(loadConfig({ configPath: file, env: {} }).gangway.tokenFile, path.posix.join(DEFAULT_SECRETS_DIR, TOKEN_FILE_NAME));
    }
  });

  test('the worker reaches the Temporal service, and outlives its shutdown grace', () => {
    const [, s] = worker!;
    const address = String((s.environment ?? {}).TEMPORAL_ADDRESS ?? '');
    assert.ok(services[address.split(':')[0]], `TEMPORAL_ADDRESS ${address} is not a service here`);
    assert.ok(s.stop_grace_period, 'stop_grace_period is set (the default is 10 s)');
    assert.ok(seconds(s.stop_grace_period) * 1000 > defaultShutdownGraceMs, 'stop_grace_period exceeds shutdownGrace');
  });

  test('every depends_on names a service', () => {
    for (const [name, s] of Object.entries(services)) {
      const deps = Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {});
      for (const dep of deps) assert.ok(services[dep], `${name} depends on ${dep}, which is not a service`);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Metrics: the Service, the ServiceMonitor and the alerts of deploy/, and the Grafana dashboard,
// against the metrics the code exports (src/domain/metrics.ts). test/metrics.test.ts checks the
// same expressions against a real worker's /metrics, the SDK's metrics included.

describe('metrics in deploy/', () => {
  const deployDir = path.join(REPO, 'deploy');
  const docsOf = (dir: string) =>
    filesUnder(path.join(deployDir, dir))
      .filter((f) => /\.ya?ml$/.test(f) && path.basename(f) !== 'kustomization.yaml' && path.basename(f) !== 'config.yaml')
      .flatMap((f) => yamlDocs(f) as Obj[]);
  const baseDocs = docsOf('base');
  const monitoring = docsOf('monitoring');
  const deployment = baseDocs.find((d) => d.kind === 'Deployment')!;
  const service = baseDocs.find((d) => d.kind === 'Service')!;
  const serviceMonitor = monitoring.find((d) => d.kind === 'ServiceMonitor')!;
  const rules = monitoring.find((d) => d.kind === 'PrometheusRule')!;
  const config = loadConfig({ configPath: path.join(deployDir, 'base/config.yaml'), env: {} });
  const series = exportedSeries();

  test('the worker serves /metrics on config.yaml\'s metrics.port, named `metrics`; the Service selects the worker pods', () => {
    assert.ok(config.metrics.port, 'config.yaml sets metrics.port');
    const container = deployment.spec.template.spec.containers[0] as Obj;
    const port = ((container.ports ?? []) as Obj[]).find((p) => p.name === 'metrics');
    assert.equal(port?.containerPort, config.metrics.port, 'the container port is metrics.port');
    assert.ok(service, 'a Service in deploy/base');
    const podLabels = deployment.spec.template.metadata.labels as Obj;
    for (const [k, v] of Object.entries(service.spec.selector as Obj)) assert.equal(podLabels[k], v, `the Service selects ${k}=${v}, the pods have ${podLabels[k]}`);
    const servicePort = (service.spec.ports as Obj[]).find((p) => p.name === 'metrics');
    assert.ok(servicePort && (servicePort.targetPort === 'metrics' || servicePort.targetPort === config.metrics.port), 'the Service port `metrics` targets the container port');
  });

  test('the ServiceMonitor and the PrometheusRule live in deploy/monitoring, out of the base; the ServiceMonitor scrapes the Service\'s port', () => {
    for (const d of baseDocs) assert.doesNotMatch(String(d.apiVersion), /monitoring\.coreos\.com/, `${d.kind} ${d.metadata?.name}: the base must apply without the Prometheus Operator`);
    assert.ok(serviceMonitor && rules, 'a ServiceMonitor and a PrometheusRule in deploy/monitoring');
    for (const [k, v] of Object.entries(serviceMonitor.spec.selector.matchLabels as Obj)) assert.equal((service.metadata.labels as Obj)[k], v, `the ServiceMonitor selects ${k}=${v}`);
    const endpoints = serviceMonitor.spec.endpoints as Obj[];
    assert.ok(endpoints.length > 0 && endpoints.every((e) => e.port === 'metrics' && (e.path ?? '/metrics') === '/metrics'));
  });

  test('two alerts: no successful pass for 26 h, a payload not green after 24 h', () => {
    const byName = new Map(ruleExpressions().map((r) => [r.rule.alert as string, r]));
    assert.deepEqual([...byName.keys()].sort(), ['OscBuildWatcherNoSuccessfulPass', 'OscBuildWatcherPayloadNotGreen']);
    const noPass = byName.get('OscBuildWatcherNoSuccessfulPass')!;
    assert.match(noPass.expr, /time\(\) - max\(osc_build_watcher_last_successful_pass_timestamp_seconds\) > 26 \* 3600/);
    assert.match(noPass.expr, /absent_over_time\(osc_build_watcher_last_successful_pass_timestamp_seconds\[26h\]\)/, 'also when no worker reports one');
    assert.match(byName.get('OscBuildWatcherPayloadNotGreen')!.expr, /osc_build_watcher_oldest_not_green_payload_age_seconds\) > 24 \* 3600/);
    for (const r of byName.values()) {
      assert.match(String(r.rule.for), /^\d+[smh]$/, `${r.where}: for`);
      assert.ok(r.rule.annotations?.summary && r.rule.labels?.severity, `${r.where}: summary and severity`);
    }
  });

  test('the dashboard and the rules read only metrics the code exports, grouped by labels they have', () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Obj;
    assert.equal(dashboard.uid, 'osc-build-watcher');
    const ids = (dashboard.panels as Obj[]).map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
    const expressions = [...dashboardExpressions(), ...ruleExpressions()];
    const used = new Set<string>();
    for (const { where, expr } of expressions) {
      const names = metricNames(expr);
      assert.ok(names.length > 0, `${where}: reads no metric (${expr})`);
      for (const name of names.filter((x) => x.startsWith('osc_'))) {
        const known = series.get(name);
        assert.ok(known, `${where}: ${name} is not exported (${[...series.keys()].join(', ')})`);
        used.add(known.key);
        for (const label of groupingLabels(expr)) assert.ok(known.labels.includes(label) || TARGET_LABELS.includes(label), `${where}: ${name} has no label ${label}`);
      }
    }
    // Every watcher metric shows somewhere on the dashboard.
    const onDashboard = new Set(dashboardExpressions().flatMap((e) => metricNames(e.expr)).map((x) => series.get(x)?.key));
    for (const key of Object.keys(METRICS)) assert.ok(onDashboard.has(key as MetricKey), `the dashboard shows ${key}`);
    assert.ok(used.size > 0);
  });
});
