/**
 * The `[user@]host[:port]` texts ssh(1) names a host with, split by one set of rules. Three forms
 * share them and differ only where {@link FORMS} says:
 *
 * - `destination`: ssh(1) DESTINATION `[user@]hostname` (ssh.c main): the user is what precedes
 *   the last `@`; there is no port (that is `-p`).
 * - `hop`: one hop of ssh(1) `-J` / ssh_config(5) ProxyJump, `[user@]host[:port]` (misc.c
 *   parse_user_host_port): the last `@` ends the user, the host ends at the first `:`, so an IPv6
 *   address needs brackets (`[::1]:22`) and a bare `::1` is refused.
 * - `uri`: `ssh://[user[;c-param]@]host[:port][/]` (ssh(1) DESTINATION; RFC 3986 §3.2 authority;
 *   draft-ietf-secsh-scp-sftp-ssh-uri-04 §3; misc.c parse_uri): the first `@` ends the user (an
 *   `@` inside it is written `%40`, RFC 3986 §3.2.1), the user is percent-decoded, the host must be
 *   a domain name (misc.c valid_domain, also inside brackets: no IPv6 address) and a path is
 *   refused.
 *
 * Both callers (the destination and every ProxyJump hop) try `ssh://` first, as ssh.c and
 * readconf.c parse_jump do. Where pure-ssh parts from OpenSSH 9.2, on purpose (test/destination
 * compares every case with /usr/bin/ssh -G):
 * - `;c-param` connection parameters (the draft's `;fingerprint=`) are refused, naming them: ssh
 *   drops them, which would leave a host key fingerprint the user asked for unchecked.
 * - Service names as ports (`host:ssh`, a2port's getservbyname) are refused: there is no services
 *   database in this pure layer.
 * - Whitespace in a hop is refused (ssh 9.2 and 10.0 end a ProxyJump value at its first blank, a
 *   misc.c rtrim bug fixed in 10.1, silently dropping the hops after it; from the command line
 *   pure-ssh names the hop as 10.1 does, keywords.ts); an empty
 *   host (`user@`) is refused (ssh goes on with an empty name); a `%00` or a percent-encoded user
 *   that is not UTF-8 is refused (ssh keeps the raw bytes; `%00` cuts the name short).
 *
 * Pure: no node:* import.
 */
import { validDomain } from './canonicalize.js';
import { parseIpv6 } from './numeric-address.js';
import { parsePort } from './options.js';

/** A host with the user and port written next to it; unset fields come from configuration. */
export interface UserHostPort {
  user?: string;
  host: string;
  /** TCP port, 1–65535. */
  port?: number;
}

/** The plain (non-URI) form a caller reads: a DESTINATION argument or a ProxyJump hop. */
export type PlainForm = 'destination' | 'hop';

type Form = PlainForm | 'uri';

interface FormRules {
  /** The `@` that ends the user: the last one (strrchr) or the first (strchr, RFC 3986 §3.2.1). */
  userEndsAt: 'last' | 'first';
  /** RFC 3986 §2.1 percent-decoding of the user, and its `;c-param` list (draft §3.2). */
  uriUser: boolean;
  /** A `:port` after the host (brackets around an IPv6 host, misc.c hpdelim2). */
  port: boolean;
  /** A `/` after the authority (RFC 3986 §3.3 path-abempty): only an empty path is allowed. */
  slash: boolean;
  /** misc.c valid_domain on the host (RFC 1035 §2.3.1 letters, digits, `-`; plus `_`). */
  domainHost: boolean;
}

/** The differences between the three forms, in one place. */
const FORMS: Record<Form, FormRules> = {
  destination: { userEndsAt: 'last', uriUser: false, port: false, slash: false, domainHost: false },
  hop: { userEndsAt: 'last', uriUser: false, port: true, slash: false, domainHost: false },
  uri: { userEndsAt: 'first', uriUser: true, port: true, slash: true, domainHost: true },
};

const URI_SCHEME = 'ssh://';

/**
 * Split `text` into user, host and port: `ssh://…` by the URI rules (the scheme is matched as
 * ssh does, case-sensitively), anything else as `plain`. Returns the parts, or `{ error }` with a
 * short reason (no text of its own around it: callers add OpenSSH's wording).
 *
 * @example
 * splitUserHostPort('alice@[::1]:2222', 'hop'); // { user: 'alice', host: '::1', port: 2222 }
 * splitUserHostPort('ssh://b%40x@h.example:22/', 'destination'); // { user: 'b@x', host: 'h.example', port: 22 }
 */
export function splitUserHostPort(text: string, plain: PlainForm, blanks = false): UserHostPort | { error: string } {
  const uri = text.startsWith(URI_SCHEME);
  const rules = FORMS[uri ? 'uri' : plain];
  let rest = uri ? text.slice(URI_SCHEME.length) : text;
  // `blanks`: the caller checks the names itself (readconf.c parse_jump's strict check names them).
  if (plain === 'hop' && !blanks && /\s/.test(rest)) return { error: 'blank in a jump host' };

  let user: string | undefined;
  const at = rules.userEndsAt === 'last' ? rest.lastIndexOf('@') : rest.indexOf('@');
  if (at >= 0) {
    let userText = rest.slice(0, at);
    rest = rest.slice(at + 1);
    if (rules.uriUser) {
      const semicolon = userText.indexOf(';');
      if (semicolon >= 0) {
        return { error: `connection parameters ("${userText.slice(semicolon)}") are not supported` };
      }
      if (userText !== '') {
        const decoded = percentDecode(userText);
        if (decoded === undefined) return { error: `bad percent escape in user "${userText}"` };
        userText = decoded;
      }
    }
    if (userText === '') return { error: 'empty user name' };
    user = userText;
  }

  if (!rules.port) {
    // ssh.c main: only a missing destination is usage(); `''` and `user@` name the host "" (which
    // `Host *` matches and a HostName replaces), as an empty -W host is kept too.
    return { user, host: rest, port: undefined };
  }

  // misc.c hpdelim2: a bracketed host ends at `]`, any other at the first `:` or `/`.
  let host: string;
  let delim = '';
  let after = '';
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) return { error: 'no "]" after "["' };
    host = rest.slice(1, close);
    delim = rest.charAt(close + 1);
    if (delim !== '' && delim !== ':' && delim !== '/') return { error: `"${rest.slice(close + 1)}" after "]"` };
    after = rest.slice(close + 2);
    // misc.c parse_uri: cleanhostname drops the brackets, then valid_domain refuses an IPv6
    // address (its `:`), as ssh 9.2 and 10 do: `ssh://[::1]:22` is a usage error there.
    if (rules.domainHost) {
      const checked = validDomain(host);
      if ('error' in checked) return { error: parseIpv6(host) !== undefined ? `an IPv6 address ("${host}") is not allowed` : checked.error };
    }
  } else {
    const end = rest.search(/[:/]/);
    host = end < 0 ? rest : rest.slice(0, end);
    delim = end < 0 ? '' : rest.charAt(end);
    after = end < 0 ? '' : rest.slice(end + 1);
    if (rules.domainHost && host !== '') {
      const checked = validDomain(host);
      if ('error' in checked) return { error: checked.error };
      if (host.endsWith('.')) host = host.slice(0, -1); // valid_domain drops one trailing dot
    }
  }
  if (host === '') return { error: 'empty host name' };

  let portText = '';
  if (delim === ':') {
    const slash = after.indexOf('/');
    portText = slash < 0 ? after : after.slice(0, slash);
    after = slash < 0 ? '' : after.slice(slash + 1);
    delim = slash < 0 ? '' : '/';
  }
  if (delim === '/' && !rules.slash) return { error: `"/" after the host` };
  if (after !== '') return { error: `a path ("/${after}") is not allowed` };

  // misc.c a2port (a number, else a tcp service name): an empty port is no port.
  if (portText === '') return { user, host, port: undefined };
  const port = parsePort(portText);
  if (port <= 0) return { error: `bad port "${portText}"` };
  return { user, host, port };
}

/**
 * readconf.c ssh_valid_hostname (CVE-2023-51385, fixed in OpenSSH 9.6 and in Debian 12's 9.2):
 * a host name from the command line ends up in %h (ProxyCommand, Match exec), so it may not
 * start with `-` nor hold shell metacharacters, blanks or control characters.
 */
export function validCommandLineHost(host: string): boolean {
  return !host.startsWith('-') && !/['`"$\\;&<>|(){}, \t\n\v\f\r\x00-\x1f\x7f]/.test(host);
}

/**
 * readconf.c ssh_valid_ruser: the same for a user name from the command line (%r), which may
 * also hold blanks, but not a `-` after one, nor end in `\`.
 */
export function validCommandLineUser(user: string): boolean {
  return !user.startsWith('-') && !/['`";&<>|(){}\x00-\x1f\x7f]|[ \t\n\v\f\r]-|\\$/.test(user);
}

/**
 * misc.c urldecode: RFC 3986 §2.1 `%XX` escapes, and `+` as a blank (as ssh reads it). The bytes
 * must be UTF-8 without NUL; undefined otherwise.
 */
function percentDecode(text: string): string | undefined {
  const bytes: number[] = [];
  const utf8 = new TextEncoder();
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '+') bytes.push(0x20);
    else if (c === '%') {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      const cp = text.codePointAt(i)!;
      if (cp > 0xffff) i++;
      bytes.push(...utf8.encode(String.fromCodePoint(cp)));
    }
  }
  if (bytes.includes(0)) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(bytes));
  } catch {
    return undefined;
  }
}
