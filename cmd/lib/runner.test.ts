import { expect, test } from 'bun:test';
import { join } from 'node:path';

// A command whose promise can never settle (it waits on something that is gone, with nothing left on the event
// loop). Before the guard the process exited 0 having done nothing, and a script took that for success.
test('a command left waiting on nothing exits 1 with a reason, never 0', async () => {
  const runner = join(import.meta.dir, 'runner.ts');
  const program = `import { runProgram } from ${JSON.stringify(runner)};
void runProgram({ name: 'tp', version: '0', description: 'test', commands: {
  hang: { summary: 'waits for ever', load: async () => ({ meta: { name: 'hang' }, run: () => new Promise(() => {}) }) },
} }, ['hang']);`;
  const p = Bun.spawn([process.execPath, '-e', program], { stdout: 'pipe', stderr: 'pipe' });
  const [code, err] = await Promise.all([p.exited, new Response(p.stderr).text()]);
  expect({ code, err }).toEqual({ code: 1, err: expect.stringContaining('tp hang stopped before it finished') });
});

test('a command that finishes exits 0 and says nothing more', async () => {
  const runner = join(import.meta.dir, 'runner.ts');
  const program = `import { runProgram } from ${JSON.stringify(runner)};
void runProgram({ name: 'tp', version: '0', description: 'test', commands: {
  ok: { summary: 'returns', load: async () => ({ meta: { name: 'ok' }, run: async () => { await Bun.sleep(10); } }) },
} }, ['ok']);`;
  const p = Bun.spawn([process.execPath, '-e', program], { stdout: 'pipe', stderr: 'pipe' });
  const [code, err] = await Promise.all([p.exited, new Response(p.stderr).text()]);
  expect({ code, err }).toEqual({ code: 0, err: '' });
});
