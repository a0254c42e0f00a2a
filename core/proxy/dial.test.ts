import { describe, expect, test } from 'bun:test';
import { type Duplex, PassThrough } from 'node:stream';
import { Locked, Unavailable } from '../errors.ts';
import { readAgentAck } from './dial.ts';

/** A stream whose readable side yields `text` (then ends when `end`). */
function agentSays(text: string, end = false): Duplex {
  const p = new PassThrough();
  p.write(text);
  if (end) p.end();
  return p;
}

describe("readAgentAck: the agent's first line on a plugin stream", () => {
  test('an ack resolves and leaves the protocol bytes after it unread', async () => {
    const s = agentSays('{"ok":true}\nSSH-ish bytes');
    await readAgentAck(s, 'db "pg1"');
    s.resume();
    const rest = await new Promise<string>((r) => s.once('data', (d: Buffer) => r(d.toString())));
    expect(rest).toBe('SSH-ish bytes');
  });

  test("a refusal rejects with the agent's typed error and its message", async () => {
    const s = agentSays('{"ok":false,"error":{"code":"locked","message":"user \\"alice\\" is locked: laptop lost"}}\n');
    const err = await readAgentAck(s, 'db "pg1"').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Locked);
    expect((err as Error).message).toBe('user "alice" is locked: laptop lost');
    expect(s.destroyed).toBe(true);
  });

  test('a stream that ends or says something else is Unavailable, naming the resource', async () => {
    for (const text of ['', 'not json\n', '{"ok":"yes"}\n']) {
      const err = await readAgentAck(agentSays(text, true), 'kube "k1"').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Unavailable);
      expect((err as Error).message).toStartWith('kube "k1" did not answer the stream:');
    }
  });
});
