import { expect, test } from 'bun:test';
import { PassThrough } from 'node:stream';
import { BadParameter } from '../errors.ts';
import { AgentStreamHeaderSchema, RelayRequestSchema, readHeader } from './header.ts';

test('a header is parsed with its schema and the bytes after it stay on the stream', async () => {
  const s = new PassThrough();
  s.write('{"v":1,"node":"web1","login":"root","extra":true}\nrest');
  expect(await readHeader(s, RelayRequestSchema)).toEqual({ v: 1, node: 'web1', login: 'root' });
  expect(String(s.read())).toBe('rest');
});

test('a header off its schema is a BadParameter naming the field', async () => {
  const s = new PassThrough();
  s.write('{"v":1,"node":["web1"],"login":"root"}\n');
  const err = await readHeader(s, RelayRequestSchema).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(BadParameter);
  expect((err as Error).message).toContain('bad stream header field "node"');
});

test("the agent stream header names any plugin, and an older proxy's ssh header still parses", async () => {
  const s = new PassThrough();
  s.write('{"v":1,"service":"ssh","client":"1.2.3.4:5","user":"alice"}\n');
  s.write(
    '{"v":1,"service":"db-postgres","client":"1.2.3.4:6","resource":"pg1","route":{"db_user":"a"},"cert":"AA=="}\n',
  );
  expect(await readHeader(s, AgentStreamHeaderSchema)).toEqual({
    v: 1,
    service: 'ssh',
    client: '1.2.3.4:5',
    user: 'alice',
  });
  s.resume();
  const next = await readHeader(s, AgentStreamHeaderSchema);
  expect(next.service).toBe('db-postgres');
  expect(next.route).toEqual({ db_user: 'a' });
  const bad = new PassThrough();
  bad.write('{"v":1,"service":"../x","client":"c"}\n');
  expect(await readHeader(bad, AgentStreamHeaderSchema).catch((e: Error) => e.message)).toContain('"service"');
});
