/**
 * The identification exchange (RFC 4253 §4.2): `SSH-2.0-softwareversion SP comments CR LF`, and
 * the lines a server may send before it.
 */
import { DisconnectReason, ProtocolError, UsageError } from '../errors.js';
import { textForLog } from '../log-text.js';

/** The version this build announces (RFC 4253 §4.2 softwareversion). */
export const PURE_SSH_VERSION = '0.1.0';
/** Our identification string, without CR LF. */
export const DEFAULT_CLIENT_VERSION = `SSH-2.0-pure_ssh_${PURE_SSH_VERSION}`;

// RFC 4253 §4.2 limits the identification line to 255 bytes, not the lines before it. OpenSSH
// (ssh.h SSH_MAX_BANNER_LEN, SSH_MAX_PRE_BANNER_LINES) reads any line up to 8192 bytes and at
// most 1023 lines before the identification (1024 lines read in all); we accept what it accepts.
const MAX_LINE = 8192;
const MAX_PRE_LINES = 1024;

/** Refuse a client identification that would break the exchange (RFC 4253 §4.2). */
export function checkClientVersion(version: string): void {
  if (!version.startsWith('SSH-2.0-') || /[\r\n]/.test(version)) {
    throw new UsageError(`client version must start with "SSH-2.0-" and be one line: ${version}`);
  }
}

/** Reads the server's identification line, skipping (and logging) the lines before it. */
export class VersionReader {
  /** V_S, without CR LF, once read. */
  serverVersion: string | undefined;
  private line: number[] = [];
  private preLines = 0;

  constructor(private readonly log: (message: string) => void) {}

  /**
   * Feed bytes from the server. Returns the bytes that follow the identification line once it
   * has been read (possibly empty), or undefined while more are needed. Throws ProtocolError.
   */
  feed(data: Uint8Array): Uint8Array | undefined {
    for (let i = 0; i < data.length; i++) {
      const c = data[i]!;
      // OpenSSH kex.c kex_exchange_identification: a NUL, or a CR not followed by LF, is not a
      // text line: refuse at once instead of waiting for a version that will not come.
      if (c === 0x00 || (this.line.length > 0 && this.line[this.line.length - 1] === 0x0d && c !== 0x0a)) {
        throw new ProtocolError('kex_exchange_identification: banner line contains invalid characters');
      }
      if (c !== 0x0a) {
        if (this.line.length > MAX_LINE) {
          throw new ProtocolError(
            `a line from the server is longer than ${MAX_LINE} bytes before its identification; is this an SSH server?`,
          );
        }
        this.line.push(c);
        continue;
      }
      let line = this.line;
      this.line = [];
      if (line[line.length - 1] === 0x0d) line = line.slice(0, -1);
      const text = String.fromCharCode(...line);
      // OpenSSH's test (kex.c): a line longer than 4 bytes starting "SSH-" is the identification.
      if (line.length > 4 && text.startsWith('SSH-')) {
        // RFC 4253 §4.2 asks a server for at most 255 bytes of printable US-ASCII; ssh(1) 9.2
        // takes any line up to SSH_MAX_BANNER_LEN without a NUL (checked above), and so does
        // pure-ssh: a server ssh talks to is not refused here. V_S goes into the exchange hash
        // as sent; logs escape it (log-vis.ts).
        const id = parseIdentification(text);
        if (id === undefined) {
          // kex.c kex_exchange_identification: sscanf(…, "SSH-%d.%d-%[^\n]\n", …) != 3, so an
          // empty software version ("SSH-2.0-") or no "-" after the version is refused, the line
          // cut at 100 bytes ('%.100s').
          throw new ProtocolError(`Bad remote protocol version identification: '${forLog(text.slice(0, 100))}'`);
        }
        // RFC 4253 §5.1: 1.99 means a server that also speaks 2.0 (kex.c: major 2, or 1 with minor 99).
        if (id.major !== 2 && !(id.major === 1 && id.minor === 99)) {
          throw new ProtocolError(`Protocol major versions differ: server sent "${text}", pure-ssh speaks SSH-2.0`, {
            reason: DisconnectReason.PROTOCOL_VERSION_NOT_SUPPORTED,
          });
        }
        this.serverVersion = text;
        this.log(`Remote protocol version ${id.major}.${id.minor}, remote software version ${forLog(id.software.slice(0, 100))}`);
        return data.subarray(i + 1);
      }
      // kex.c kex_exchange_identification: debug_f("banner line %zu: %s"), counted from 0.
      this.log(`kex_exchange_identification: banner line ${this.preLines}: ${forLog(text)}`);
      // kex.c kex_exchange_identification checks `n >= SSH_MAX_PRE_BANNER_LINES` before reading
      // each line: after 1024 lines that are not one, the next (even the identification) is not read.
      if (++this.preLines >= MAX_PRE_LINES) {
        throw new ProtocolError(`kex_exchange_identification: No SSH version received in first ${MAX_PRE_LINES} lines from server`);
      }
    }
    return undefined;
  }
}

/**
 * A line read as bytes (one char per byte, Latin-1) for the log, every byte kept
 * ({@link textForLog}): ssh's log.c strnvis escapes the bytes as sent, so the log shows UTF-8
 * `café` as `caf\303\251` and a lone 0xff as `\377` (not the Latin-1 characters' own UTF-8).
 */
function forLog(text: string): string {
  return /[\x80-\xff]/.test(text) ? textForLog(Uint8Array.from(text, (c) => c.charCodeAt(0))) : text;
}

/** What an identification line says (RFC 4253 §4.2): protoversion's two numbers and the rest. */
export interface Identification {
  major: number;
  minor: number;
  /** softwareversion and the comments after it, as sent. */
  software: string;
}

/**
 * OpenSSH's reading of an identification line without its CR LF (kex.c
 * kex_exchange_identification: `sscanf(line, "SSH-%d.%d-%[^\n]\n", …) == 3`): each number as C's
 * %d reads it (leading white space and a sign allowed), then "-" and at least one character.
 * Undefined where ssh says "Bad remote protocol version identification".
 */
export function parseIdentification(line: string): Identification | undefined {
  const m = /^SSH-[ \t\n\v\f\r]*([+-]?\d+)\.[ \t\n\v\f\r]*([+-]?\d+)-([^\n]+)/.exec(line);
  if (m === null) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), software: m[3]! };
}
