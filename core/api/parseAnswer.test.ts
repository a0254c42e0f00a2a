import { expect, test } from 'bun:test';
import * as v from 'valibot';
import { Unavailable } from '../errors.ts';
import { parseAnswer } from './client.ts';
import { NodeRecordSchema } from './schemas.ts';

const node = { hostId: 'h1', name: 'web1', labels: { env: 'prod' }, tunnel: true, lastSeen: '2026-01-01T00:00:00Z' };

test('an answer matching its schema comes back typed', () => {
  expect(parseAnswer(v.array(NodeRecordSchema), [node], 'GET /v1/nodes')).toEqual([node]);
});

test('an answer that breaks its schema is an Unavailable naming the request and the field', () => {
  const bad = [node, { ...node, name: 7 }];
  expect(() => parseAnswer(v.array(NodeRecordSchema), bad, 'GET /v1/nodes')).toThrow(Unavailable);
  expect(() => parseAnswer(v.array(NodeRecordSchema), bad, 'GET /v1/nodes')).toThrow(
    /the answer to GET \/v1\/nodes is not what this client expects \(field "1\.name"\)/,
  );
});

test('a parse function checks an answer the same way, and its typed error comes through', () => {
  const port = (data: unknown) => {
    if (typeof data !== 'number') throw new Unavailable('the port is not a number');
    return data;
  };
  expect(parseAnswer(port, 22, 'GET /x')).toBe(22);
  expect(() => parseAnswer(port, '22', 'GET /x')).toThrow('the port is not a number');
});
