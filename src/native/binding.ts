/**
 * @internal The only module that loads the compiled addon: everything else imports the
 * binding from here. Its constants (batch format, control words, `WOULD_BLOCK`, limits) are
 * the binding's own, read from it, never retyped.
 * @packageDocumentation
 */
import type * as Binding from '../../index.js';
import { loadBinding } from './load.js';

/** The generated napi-rs binding (see `index.d.ts`). */
const native: typeof Binding = loadBinding<typeof Binding>();

export const {
  NativeSocket,
  socketpair,
  KIND_UNIX_DGRAM,
  KIND_UNIX_SEQPACKET,
  KIND_UDP4,
  KIND_UDP6,
  currentCredentials,
  send,
  sendMany,
  closeFdRange,
  sealPayload,
  mapSealedPayload,
  pidfdPid,
  pidfdExited,
  pipe,
  setCloexec,
  WOULD_BLOCK,
  READABLE,
  WRITABLE,
  MAX_FDS_PER_DATAGRAM,
  SEND_MANY_MAX,
  SUN_PATH_MAX,
  LENT_CHUNK_SIZE,
  BUSY_POLL_ADAPTIVE_MICROS,
  BUSY_POLL_MAX_MICROS,
  META_COUNT,
  META_BASE,
  META_ENTRIES,
  ENTRY_ADDRESS,
  ENTRY_CREDENTIALS,
  ENTRY_END,
  ENTRY_ERROR,
  ENTRY_EXTRA_MASK,
  ENTRY_FDS,
  ENTRY_FDS_SHIFT,
  ENTRY_PIDFD,
  ENTRY_SENDER,
  ENTRY_SENDER_MASK,
  ENTRY_SENDER_SHIFT,
  CONTROL_IN_CALLBACK,
  CONTROL_REQUEST,
  CONTROL_APPLIED,
  STATE_EVENTS,
  STATE_KEEP_ALIVE,
  STATE_STRONG,
  REQUEST_PENDING,
} = native;

export type NativeSocket = Binding.NativeSocket;
export type NativeCredentials = Binding.JsCredentials;
export type NativeSendAncillary = Binding.SendAncillary;
export type BatchExtra = Binding.BatchExtra;
export type BatchCallback = Binding.BatchCallback;
/** An address as the binding takes and gives it: `sun_path` bytes (Unix), or `"host:port"` (IP). */
export type NativeAddress = Buffer | string;
/** One datagram as `send` takes it: bytes, a text sent as UTF-8, or Buffers gathered into one. */
export type NativeDatagram = Buffer | string | Buffer[];
