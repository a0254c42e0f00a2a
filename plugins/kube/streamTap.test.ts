import { expect, test } from 'bun:test';
import { streamTap } from './streamTap.ts';

const serverFrame = (payload: Buffer) => Buffer.concat([Buffer.from([0x82, payload.length]), payload]);

test('the exec tap reads stdout (channel 1) and the exit code from the error channel (3) of a WebSocket copy', async () => {
  const out: string[] = [];
  let exit: number | undefined;
  const tap = streamTap('ws-exec', { output: (d) => out.push(d.toString()), status: (s) => (exit = s.exitCode) });
  tap.fromServer(serverFrame(Buffer.from('\x01hello')));
  const status = JSON.stringify({
    status: 'Failure',
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: '3' }] },
  });
  tap.fromServer(serverFrame(Buffer.concat([Buffer.from([3]), Buffer.from(status)])));
  await tap.end();
  expect(out).toEqual(['hello']);
  expect(exit).toBe(3);
});
