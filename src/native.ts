/**
 * The only module that loads the compiled addon. Everything else imports from here.
 * @internal
 * @packageDocumentation
 */
import type * as Binding from '../index.js';
import { loadBinding } from './load-binding.js';

/** The generated napi-rs binding (see `index.d.ts`). */
export const native: typeof Binding = loadBinding<typeof Binding>();

export type NativeSocket = Binding.NativeSocket;
export type NativeCredentials = Binding.JsCredentials;

/** What the send methods return when the peer's queue is full (`-EAGAIN`). */
export const WOULD_BLOCK = -11;
/** `uv_poll_event` bits understood by `NativeSocket.watch`. */
export const READABLE = 1;
export const WRITABLE = 2;

/** The native functions registered by hand (`crates/unixgram-node/src/fast.rs`), which the generated `index.d.ts` does not list. */
interface FastPaths {
  /** Send `data` on connected socket `fd`: bytes sent, or the negated errno. Never throws for a failed send. */
  sendOnFd(fd: number, data: Buffer): number;
  /** Send the UTF-8 bytes of `text` on connected socket `fd`, as {@link FastPaths.sendOnFd} (no Buffer made). */
  sendTextOnFd(fd: number, text: string): number;
  /** Send `datas[start..end]` (at most 1024) on connected socket `fd` with one `sendmmsg`: how many went out, or the negated errno of the first. */
  sendManyOnFd(fd: number, datas: readonly Buffer[], start: number, end: number): number;
  /** Close the entries of a batch's fd set `set[start .. start + count]` still `>= 0`, and mark them `-1`. */
  closeFdRange(set: Int32Array, start: number, count: number): void;
}

/** See {@link FastPaths.sendOnFd}. */
export const sendOnFd: FastPaths['sendOnFd'] = (native as unknown as FastPaths).sendOnFd;

/** See {@link FastPaths.sendTextOnFd}. */
export const sendTextOnFd: FastPaths['sendTextOnFd'] = (native as unknown as FastPaths).sendTextOnFd;

/** See {@link FastPaths.sendManyOnFd}. */
export const sendManyOnFd: FastPaths['sendManyOnFd'] = (native as unknown as FastPaths).sendManyOnFd;

/** See {@link FastPaths.closeFdRange}. */
export const closeFdRange: FastPaths['closeFdRange'] = (native as unknown as FastPaths).closeFdRange;
