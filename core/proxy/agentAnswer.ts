import type { Duplex } from 'node:stream';
import * as v from 'valibot';
import { describe, errorFromWire, Unavailable } from '../errors.ts';
import { readHeader } from '../tunnel/header.ts';

const AnswerSchema = v.variant('ok', [
  v.object({ ok: v.literal(true) }),
  v.object({ ok: v.literal(false), error: v.object({ code: v.string(), message: v.string() }) }),
]);

/**
 * Waits for the agent's first bytes on a fresh plugin stream. A JSON line (`{ok:true}` or a typed refusal) is the
 * agent's answer and is consumed; any other first byte is protocol data (an agent that does not answer) and is left
 * unread. A refusal rejects with the agent's typed error, a stream that ends first with Unavailable.
 */
export async function agentAnswer(stream: Duplex, what: string, timeoutMs = 10_000): Promise<void> {
  const first = await new Promise<Buffer>((resolve, reject) => {
    const timer = setTimeout(() => done(new Unavailable(`${what} did not answer in ${timeoutMs} ms`)), timeoutMs);
    const done = (err?: Error, chunk?: Buffer) => {
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('close', onClose);
      stream.off('error', onError);
      if (err) reject(err);
      else resolve(chunk!);
    };
    const onData = (d: Buffer) => {
      stream.pause();
      done(undefined, d);
    };
    const onClose = () => done(new Unavailable(`${what} closed the stream before answering`));
    const onError = (err: Error) => done(new Unavailable(`${what}: ${describe(err)}`, {}, { cause: err }));
    stream.on('data', onData);
    stream.once('close', onClose);
    stream.once('error', onError);
  });
  stream.unshift(first);
  if (first[0] !== 0x7b) return;
  const answer = await readHeader(stream, AnswerSchema, 64 * 1024, timeoutMs).catch((err: unknown) => {
    throw new Unavailable(`${what} answered the stream badly: ${describe(err)}`, {}, { cause: err });
  });
  if (!answer.ok) throw errorFromWire(answer.error.code, answer.error.message);
}
