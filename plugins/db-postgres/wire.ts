/** The PostgreSQL wire codec: client messages, server messages, and the messages tp writes itself. */
export { AUTH, type BackendMessage, BackendParser, type ErrorFields } from './wire/backend.ts';
export {
  backendKeyData,
  cancelRequest,
  ENCRYPTION_REFUSED,
  type ErrorSpec,
  errorResponse,
  query,
  SQLSTATE,
  sslRequest,
  startupMessage,
  terminate,
} from './wire/build.ts';
export {
  type BindValue,
  bindParamFormat,
  CANCEL_REQUEST_CODE,
  checkStartupHeader,
  checkTypedHeader,
  type FrontendLimits,
  type FrontendMessage,
  FrontendParser,
  GSSENC_REQUEST_CODE,
  PROTOCOL_3_0,
  parseStartup,
  parseTypedMessage,
  SSL_REQUEST_CODE,
} from './wire/frontend.ts';
