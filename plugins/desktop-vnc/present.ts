// The browser's side of the handshake: the agent plays an RFB 3.8 server offering security type None only (the VNC
// password stays on the agent), then replays the real server's ServerInit; or it states why the desktop is refused.

import type { ByteReader } from '../../core/desktop/byteReader.ts';
import { BadParameter, describe } from '../../core/errors.ts';
import { encodeServerInit, RFB_VERSION, reasonBytes, SECURITY_NONE, type ServerInit } from './rfb.ts';

/** Writes bytes to the browser (and the recording). */
type Write = (chunk: Buffer) => Promise<void>;

/**
 * Runs the browser's handshake while `ready` settles (the roles' check and the agent's own handshake with the VNC
 * server). On success the browser holds the server's ServerInit; when `ready` rejects, the browser reads the error's
 * message as RFB's failure reason (noVNC shows it) and the error is rethrown. Throws BadParameter for a browser that
 * does not speak RFB 3.8 or picks another security type.
 */
export async function presentToBrowser(write: Write, r: ByteReader, ready: Promise<ServerInit>): Promise<ServerInit> {
  // Settled while the browser is still being greeted: observed here so a refusal is not an unhandled rejection.
  ready.catch(() => undefined);
  await write(Buffer.from(RFB_VERSION, 'latin1'));
  const version = (await r.read(12)).toString('latin1');
  if (version !== RFB_VERSION) {
    throw new BadParameter(`the browser speaks ${JSON.stringify(version)}; tp's desktops speak RFB 3.8 only`);
  }
  let init: ServerInit;
  try {
    init = await ready;
  } catch (err) {
    await write(Buffer.concat([Buffer.from([0]), reasonBytes(`tp: ${describe(err)}`)]));
    throw err;
  }
  await write(Buffer.from([1, SECURITY_NONE]));
  const chosen = (await r.read(1))[0]!;
  if (chosen !== SECURITY_NONE) {
    const failed = Buffer.from([0, 0, 0, 1]);
    await write(Buffer.concat([failed, reasonBytes('tp: the agent offers security type None (1) only')]));
    throw new BadParameter(`the browser chose security type ${chosen}; tp offers None (1) only`);
  }
  await write(Buffer.from([0, 0, 0, 0]));
  await r.read(1); // ClientInit: the agent's own connection to the server is always shared
  await write(encodeServerInit(init));
  return init;
}
