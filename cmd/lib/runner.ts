import type { ArgsDef, CommandDef, Resolvable } from 'citty';
import { BadParameter, describe, exitCodeOf } from '../../core/errors.ts';
import { parseArgv, suggest } from './argv.ts';
import { type HelpSubject, HelpWanted, RAW_ARGS, type RawArgsHelp, renderHelp, shortUsage } from './help.ts';

// biome-ignore lint/suspicious/noExplicitAny: commands declare their own arg types; the runner treats them alike
export type AnyCommand = CommandDef<any>;

/** A top-level command, loaded only when it runs (so `tp version` loads no TLS, SSH or storage code). */
export interface LazyCommand {
  /** One line for `tp --help`. */
  summary: string;
  load: () => Promise<AnyCommand>;
}

/** The whole command line: its name, version, description and top-level commands. */
export interface Program {
  name: string;
  version: string;
  description: string;
  commands: Record<string, LazyCommand>;
}

async function resolve<T>(r: Resolvable<T>): Promise<T> {
  return typeof r === 'function' ? await (r as () => T | Promise<T>)() : await r;
}

const HELP_COMMAND: [string, string] = ['help', 'Show the help of a command: tp help COMMAND...'];

/** The first line of a description, for command lists. */
const summaryOf = (d: string | undefined) => (d ?? '').split('\n')[0]!;

/** A usage mistake: printed with the short usage of the command it concerns, exit 2. */
class UsageError extends BadParameter {
  constructor(
    message: string,
    readonly subject: HelpSubject,
  ) {
    super(message);
  }
}

function unknownCommand(word: string, subject: HelpSubject): UsageError {
  const names = (subject.commands ?? []).map(([n]) => n);
  const near = suggest(word, names);
  const where = subject.path.join(' ');
  return new UsageError(`unknown command "${word}" for ${where}${near ? `; did you mean "${near}"?` : ''}`, subject);
}

function unknownGroupFlag(flag: string, subject: HelpSubject, extra: string[] = []): UsageError {
  const near = suggest(flag.split('=')[0]!, ['--help', ...extra]);
  return new UsageError(`unknown flag ${flag}${near ? `; did you mean ${near}?` : ''}`, subject);
}

/** Walks argv down the command tree to one command and runs it; usage errors exit 2 with a short usage on stderr. */
export async function runProgram(p: Program, argv: string[]): Promise<void> {
  // A command still waiting when nothing is left to wait for can never finish; without this the process would exit
  // 0 having done nothing, and a script would take that for success.
  const stranded = () => {
    process.stderr.write(
      `error: ${p.name} ${argv[0] ?? ''} stopped before it finished, with nothing left to wait for (a bug in ${p.name})\n`,
    );
    process.exit(1);
  };
  process.once('beforeExit', stranded);
  try {
    await dispatch(p, argv);
    process.off('beforeExit', stranded);
  } catch (err) {
    process.stderr.write(`error: ${describe(err)}\n`);
    if (err instanceof UsageError) process.stderr.write(shortUsage(err.subject));
    else if (process.env.TP_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    process.exit(exitCodeOf(err));
  }
}

async function dispatch(p: Program, argv: string[]): Promise<void> {
  const root: HelpSubject = {
    path: [p.name],
    description: p.description,
    commands: [...Object.entries(p.commands).map(([n, c]) => [n, c.summary] as [string, string]), HELP_COMMAND],
    runnerOptions: [['--version', 'Print the version']],
  };
  const first = argv[0];
  // `tp help ssh` is `tp ssh --help`.
  if (first === 'help') return dispatch(p, [...argv.slice(1), '--help']);
  if (first === '--version') return void process.stdout.write(`${p.name} v${p.version}\n`);
  if (first === undefined || first === '--help' || first === '-h') return void process.stdout.write(renderHelp(root));
  if (first.startsWith('-')) throw unknownGroupFlag(first, root, ['--version']);
  const lazy = p.commands[first];
  if (!lazy) throw unknownCommand(first, root);
  let cmd = await lazy.load();
  const path = [p.name, first];
  let i = 1;
  for (;;) {
    const meta = cmd.meta ? await resolve(cmd.meta) : {};
    const subs = cmd.subCommands ? await resolve(cmd.subCommands) : undefined;
    const raw = (cmd as { [RAW_ARGS]?: RawArgsHelp })[RAW_ARGS];
    const args: ArgsDef = cmd.args ? await resolve(cmd.args) : {};
    const subject: HelpSubject = { path: [...path], description: meta.description, args, raw };
    if (subs) {
      const loaded = await Promise.all(Object.entries(subs).map(async ([n, s]) => [n, await resolve(s)] as const));
      subject.commands = await Promise.all(
        loaded.map(
          async ([n, s]) => [n, summaryOf((s.meta ? await resolve(s.meta) : {}).description)] as [string, string],
        ),
      );
      const word = argv[i];
      if (word === undefined || word === '--help' || word === '-h')
        return void process.stdout.write(renderHelp(subject));
      if (word.startsWith('-')) throw unknownGroupFlag(word, subject);
      const next = loaded.find(([n]) => n === word)?.[1];
      if (!next) throw unknownCommand(word, subject);
      cmd = next;
      path.push(word);
      i++;
      continue;
    }
    const rest = argv.slice(i);
    if (raw) return runRaw(cmd, rest, subject);
    let parsed: ReturnType<typeof parseArgv>;
    try {
      parsed = parseArgv(rest, args);
    } catch (err) {
      if (err instanceof BadParameter) throw new UsageError(err.message, subject);
      throw err;
    }
    if (parsed.help) return void process.stdout.write(renderHelp(subject));
    // biome-ignore lint/suspicious/noExplicitAny: the parsed values match the command's own declared args
    await cmd.run?.({ rawArgs: rest, args: parsed.args as any, cmd });
    return;
  }
}

/** Runs a command that parses its own argv; its parser asks for help with HelpWanted, usage errors stay exit 2. */
async function runRaw(cmd: AnyCommand, rest: string[], subject: HelpSubject): Promise<void> {
  if (rest[0] === '--help' || rest[0] === '-h') return void process.stdout.write(renderHelp(subject));
  try {
    // biome-ignore lint/suspicious/noExplicitAny: raw commands read rawArgs only
    await cmd.run?.({ rawArgs: rest, args: { _: rest } as any, cmd });
  } catch (err) {
    if (err instanceof HelpWanted) return void process.stdout.write(renderHelp(subject));
    if (err instanceof BadParameter && !(err instanceof UsageError)) throw new UsageError(err.message, subject);
    throw err;
  }
}
