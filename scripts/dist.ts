#!/usr/bin/env bun
// Builds what tp ships, into dist/ (see `just dist`):
//   package   dist/tp-<version>.tgz: a launcher + one Bun bundle of the CLI with the patched ssh2 inlined, so the
//             installed package needs no bootstrap step and never patches anything on the user's machine;
//   binaries  dist/tp-linux-{x64,arm64}[-musl]: the same CLI (and agent) compiled with `bun build --compile`;
//   and dist/SHA256SUMS over every artifact present (`sha256sum -c SHA256SUMS` checks them).
// Usage: bun scripts/dist.ts [package] [binaries] [--targets linux-x64,linux-arm64,...] [--out DIR (default dist/)]
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pkg from '../package.json' with { type: 'json' };
import { prebuiltWebAssets } from './dist/prebuiltWeb.ts';

const root = join(import.meta.dir, '..');
const entry = join(root, 'cmd', 'tp.ts');

/** The compile targets `just dist` builds: our name for each binary, and Bun's target for it. */
export const TARGETS: Record<string, Bun.Build.CompileTarget> = {
  'linux-x64': 'bun-linux-x64',
  'linux-arm64': 'bun-linux-arm64',
  'linux-x64-musl': 'bun-linux-x64-musl',
  'linux-arm64-musl': 'bun-linux-arm64-musl',
};

/**
 * Dependencies the installed package resolves at run time: Bun itself (the launcher runs the bundle on it) and
 * bun-pty, whose native library is found beside its own module, so it stays outside the bundle. ssh2's optional
 * native add-ons (built for this machine) stay out too: the package runs on any platform, ssh2 falls back to JS.
 */
const RUNTIME_DEPENDENCIES = ['bun', 'bun-pty'] as const;

function fail(message: string): never {
  process.stderr.write(`dist: ${message}\n`);
  process.exit(1);
}

/** Stages dist/package (launcher, bundle, manifest, README) and packs it; returns the tarball's path. */
async function buildPackage(): Promise<string> {
  const stage = join(distDir, 'package');
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(join(stage, 'bin'), { recursive: true });
  const out = await Bun.build({
    entrypoints: [entry],
    target: 'bun',
    outdir: join(stage, 'lib'),
    external: ['bun-pty', '*.node'],
    plugins: [await prebuiltWebAssets()],
  });
  if (!out.success) fail(`bundle failed: ${out.logs.map((l) => l.message).join('; ')}`);
  const bundle = readFileSync(join(stage, 'lib', 'tp.js'), 'utf8');
  // The bundle must carry ssh2 (with tp's patch) itself: a require left for run time would find an unpatched copy.
  if (!/\btpCertPatch: 1\b/.test(bundle)) fail('the bundle lacks the patched ssh2 (is patches/ssh2@*.patch applied?)');
  copyFileSync(join(import.meta.dir, 'dist', 'tp-launcher.mjs'), join(stage, 'bin', 'tp.mjs'));
  chmodSync(join(stage, 'bin', 'tp.mjs'), 0o755);
  copyFileSync(join(root, 'README.md'), join(stage, 'README.md'));
  const deps = pkg.dependencies as Record<string, string>;
  const manifest = {
    name: pkg.name,
    version: pkg.version,
    description: pkg.description,
    license: pkg.license,
    type: 'module',
    bin: { tp: './bin/tp.mjs' },
    engines: pkg.engines,
    dependencies: Object.fromEntries(RUNTIME_DEPENDENCIES.map((d) => [d, deps[d]])),
  };
  writeFileSync(join(stage, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const packed = Bun.spawnSync(['npm', 'pack', stage, '--pack-destination', distDir, '--json', '--silent'], {
    stdout: 'pipe',
    stderr: 'pipe',
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });
  if (packed.exitCode !== 0) fail(`npm pack failed: ${packed.stderr.toString()}`);
  const [info] = JSON.parse(packed.stdout.toString()) as { filename: string }[];
  return join(distDir, info!.filename);
}

/**
 * Precompiled bytecode (CommonJS, the format --bytecode takes) cuts the binary's start-up from parsing the whole
 * bundle, ~60-150 ms on `tp version` here, to ~10-30 ms, for ~7 MB more per binary.
 */
/**
 * A compiled Bun reads .env and bunfig.toml from the current directory unless told not to: run in a directory
 * someone else controls, a bunfig.toml `preload` would run their code inside tp, and a .env would set its
 * environment. tp takes neither (nor tsconfig.json or package.json) from where it happens to run.
 */
const NO_AUTOLOAD = {
  autoloadDotenv: false,
  autoloadBunfig: false,
  autoloadTsconfig: false,
  autoloadPackageJson: false,
} as const;

const BINARY_OPTIONS = { minify: true, bytecode: true, format: 'cjs' } as const;

/** Compiles the CLI into one executable for each target; returns their paths. */
async function buildBinaries(targets: string[]): Promise<string[]> {
  mkdirSync(distDir, { recursive: true });
  const web = await prebuiltWebAssets();
  const built: string[] = [];
  for (const name of targets) {
    const target = TARGETS[name] ?? fail(`unknown target ${name} (known: ${Object.keys(TARGETS).join(', ')})`);
    const outfile = join(distDir, `tp-${name}`);
    const out = await Bun.build({
      entrypoints: [entry],
      compile: { target, outfile, ...NO_AUTOLOAD },
      ...BINARY_OPTIONS,
      // ssh2's native add-ons were built for this machine: embedded only in this machine's own target.
      external: target === `bun-${process.platform}-${process.arch}` ? [] : ['*.node'],
      plugins: [web],
    });
    if (!out.success) fail(`compiling ${name} failed: ${out.logs.map((l) => l.message).join('; ')}`);
    built.push(outfile);
  }
  return built;
}

/** Writes dist/SHA256SUMS (sha256sum's format) over the tarballs and binaries in dist/. */
function writeSums(): void {
  const artifacts = readdirSync(distDir)
    .filter((f) => /^tp-.+(\.tgz|-(x64|arm64)(-musl)?)$/.test(f))
    .sort();
  const lines = artifacts.map((f) => {
    const digest = createHash('sha256')
      .update(readFileSync(join(distDir, f)))
      .digest('hex');
    return `${digest}  ${f}\n`;
  });
  writeFileSync(join(distDir, 'SHA256SUMS'), lines.join(''));
}

const args = process.argv.slice(2);
/** Takes `--name VALUE` out of args. */
const option = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i < 0 ? undefined : (args.splice(i, 2)[1] ?? fail(`${name} needs a value`));
};
const targets = option('--targets')?.split(',') ?? Object.keys(TARGETS);
const distDir = resolve(option('--out') ?? join(root, 'dist'));
const steps = args.length ? args : ['package', 'binaries'];
for (const s of steps) if (s !== 'package' && s !== 'binaries') fail(`unknown step ${s} (package, binaries)`);
if (steps.includes('package')) process.stdout.write(`${await buildPackage()}\n`);
if (steps.includes('binaries')) for (const f of await buildBinaries(targets)) process.stdout.write(`${f}\n`);
writeSums();
