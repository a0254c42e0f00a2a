// One RDP desktop session: the browser's RDCleanPath request, the roles' check, the agent's own connection to the
// server (X.224, TLS), the RDCleanPath answer, then both directions relayed, the client's walked PDU by PDU, until
// either side ends or the session's signal aborts. Audited; never recorded (see README).
import type { Duplex } from 'node:stream';
import { ByteReader, writeDrained } from '../../core/desktop/byteReader.ts';
import { checkDesktopAccess, desktopSessionFields, sessionStarted, stopReason } from '../../core/desktop/session.ts';
import { describe } from '../../core/errors.ts';
import type { AgentPluginContext, PluginSession } from '../../core/plugin/types.ts';
import { type DesktopSessionRights, desktopPolicy, desktopSessionRights } from '../../core/rbac/index.ts';
import type { Role } from '../../core/rbac/schema.ts';
import { channelNames, withoutClipboard } from './channels.ts';
import { type RdpCredentials, readClientInfo, rewriteClientInfo, withAutologon } from './clientInfo.ts';
import { relayClientPdus } from './clientStream.ts';
import { ClipboardWatch } from './cliprdr.ts';
import { answerFor, readCleanPathRequest } from './gateway.ts';
import type { RdpDesktop } from './index.ts';
import { type CleanPathRequest, encodeError, encodeResponse } from './rdcleanpath.ts';
import { relayRaw, relayServerPdus } from './serverStream.ts';
import { openUpstream, type Upstream } from './upstream.ts';
import {
  PROTOCOL_HYBRID,
  PROTOCOL_HYBRID_EX,
  PROTOCOL_SSL,
  parseConfirm,
  requestedProtocols,
  withRequestedProtocols,
} from './x224.ts';

/** How long the browser has to send its RDCleanPath request. */
const REQUEST_MS = 10_000;

/** One configured desktop as the agent serves it: its entry, its credentials (read at start-up), its pin. */
export interface RdpTarget {
  desktop: RdpDesktop;
  credentials: RdpCredentials | undefined;
  certSha256: string | undefined;
}

/** A session past the RDCleanPath exchange. */
interface Opened {
  upstream: Upstream;
  roles: Role[];
  rights: DesktopSessionRights;
}

/**
 * Checks the roles (labels; the login too when the client named one), and opens the server with the browser's X.224
 * request (TLS only when the agent injects credentials). Rejects with the refusal.
 */
async function admit(
  ctx: AgentPluginContext,
  t: RdpTarget,
  s: PluginSession,
  request: CleanPathRequest,
): Promise<Opened> {
  const roles = checkDesktopAccess(ctx, s, t.desktop);
  // `request.destination` is the browser's wish and is not used: the desktop's addr is the only target.
  const x224 = t.credentials ? withRequestedProtocols(request.x224, PROTOCOL_SSL) : request.x224;
  requestedProtocols(x224); // a well-formed Connection Request, or BadParameter
  const upstream = await openUpstream(
    { desktop: t.desktop.name, addr: t.desktop.addr, certSha256: t.certSha256 },
    x224,
    s.signal,
  );
  return { upstream, roles, rights: desktopSessionRights(roles) };
}

/**
 * Serves one browser stream on desktop `t` until it ends. A refusal before the session (roles, a malformed or
 * oversize request, the server unreachable or refusing) reaches the browser as one RDCleanPath error PDU and is
 * audited as a failed `desktop.session.start`; so is a login the roles do not grant, once the Client Info PDU names
 * it. A session that logged in ends with `desktop.session.end` and its reason.
 */
export async function runRdpSession(
  ctx: AgentPluginContext,
  t: RdpTarget,
  stream: Duplex,
  s: PluginSession,
): Promise<void> {
  // login: the account, once the Client Info PDU names it (the agent's own when it injects credentials).
  const login = t.credentials ? t.credentials.user : (s.route.login ?? '');
  const fields = desktopSessionFields(ctx, s, t.desktop, 'rdp', login);
  const browser = new ByteReader(stream, 'the browser', s.signal);
  const timer = setTimeout(
    () => stream.destroy(new Error(`no RDCleanPath request within ${REQUEST_MS / 1000} s`)),
    REQUEST_MS,
  );
  let opened: Opened;
  try {
    const request = await readCleanPathRequest(browser);
    clearTimeout(timer);
    opened = await admit(ctx, t, s, request);
    const { confirm, certChain, serverAddr } = opened.upstream;
    await writeDrained(stream, encodeResponse(confirm, certChain, serverAddr));
  } catch (err) {
    clearTimeout(timer);
    // The browser may be gone already (that can be the refusal itself): the audit below still says why.
    await writeDrained(stream, encodeError(answerFor(err))).catch(() => undefined);
    ctx.emit([{ type: 'desktop.session.start', success: false, ...fields, error: describe(err) }]);
    stream.end();
    return;
  }
  const { upstream, roles, rights } = opened;
  const selected = parseConfirm(upstream.confirm);
  let started = false;
  let inputDropped = 0;
  const onClientInfo = (userData: Buffer): Buffer => {
    const info = readClientInfo(userData);
    // The account typed in the page must be one the roles grant; the agent's own account is the admin's choice.
    if (!t.credentials) {
      desktopPolicy.check(roles, s.user!.traits, t.desktop, info.user);
      fields.login = info.user;
    }
    started = true;
    ctx.emit([sessionStarted(fields, rights)]);
    if (t.credentials) return rewriteClientInfo(userData, t.credentials);
    return info.passwordLength > 0 ? withAutologon(userData) : userData;
  };
  const watch = new ClipboardWatch((direction, length) =>
    ctx.emit([{ type: `desktop.clipboard.${direction}`, success: true, ...fields, length }]),
  );
  const credssp = 'selected' in selected && [PROTOCOL_HYBRID, PROTOCOL_HYBRID_EX].includes(selected.selected);
  const ended = await Promise.race([
    relayClientPdus(browser, (b) => writeDrained(upstream.tls, b), {
      viewOnly: rights.viewOnly,
      credssp,
      onConnectInitial: (pdu) => {
        const out = rights.clipboard ? pdu : withoutClipboard(pdu);
        watch.clientChannels(channelNames(out));
        return out;
      },
      onChannelData: (id, data) => watch.data('send', id, data),
      onClientInfo,
      onInputDropped: () => {
        inputDropped++;
      },
    }).then(
      () => 'the browser closed the connection',
      (err: unknown) => stopReason(err, s.signal, 'the browser'),
    ),
    // With NLA the server speaks CredSSP first (not framed as RDP PDUs): its bytes are relayed as they come.
    (credssp
      ? relayRaw(upstream.tls, stream)
      : relayServerPdus(new ByteReader(upstream.tls, 'the RDP server', s.signal), (b) => writeDrained(stream, b), {
          onConnectResponse: (pdu) => watch.serverChannels(pdu),
          onChannelData: (id, data) => watch.data('receive', id, data),
        })
    ).then(
      () => 'the RDP server closed the connection',
      (err: unknown) => stopReason(err, s.signal, 'the RDP server'),
    ),
  ]);
  upstream.tls.destroy();
  stream.destroy();
  if (started) ctx.emit([{ type: 'desktop.session.end', ...fields, reason: ended, input_dropped: inputDropped }]);
  else ctx.emit([{ type: 'desktop.session.start', success: false, ...fields, error: ended }]);
}
