/**
 * ssh(1)'s line for a server that ended the connection during the session:
 * `Connection to HOST closed by remote host.`, built by the adapters (Node and web) when the
 * socket or stream ends, and recognised by the CLI, which prints it as ssh does.
 *
 * OpenSSH clientloop.c client_process_net_input: a read that finds the connection closed (EPIPE)
 * goes to quit_message(), which is not a log call: the line, with "\r\n", is kept in the loop's
 * stderr buffer until the loop ends (9.2; written at once from 9.8) and written to file descriptor 2 itself. So it
 * is printed whatever the LogLevel (also with -q), and on stderr even when -E sends the log to a
 * file; a jump host's `ssh -W` writes it to its own stderr the same way. Runtime-neutral: no
 * `node:*` import.
 */

/** The text for `host` as the caller named it (ssh's `host`, the name on its command line). */
export function closedByRemoteHost(host: string): string {
  return `Connection to ${host} closed by remote host.`;
}

/**
 * Whether `text` is {@link closedByRemoteHost}'s line for some host: the CLI writes such a line
 * raw to stderr (`text` + "\r\n"), not through its log, as clientloop.c's quit_message() does.
 *
 * @example
 * isClosedByRemoteHost(closedByRemoteHost('example.com')); // true
 * isClosedByRemoteHost('Read from remote host example.com: Connection reset by peer'); // false
 */
export function isClosedByRemoteHost(text: string): boolean {
  return /^Connection to .* closed by remote host\.$/.test(text);
}

/**
 * ssh(1)'s line for a server that closed the connection after its identification line and before
 * the session (during key exchange or authentication): packet.c sshpkt_fatal's logdie for
 * SSH_ERR_CONN_CLOSED, `Connection closed by ADDR port N` (ssh_remote_ipaddr/port: the peer's
 * address). The Node CLI words it with the socket's peer (connect-host.ts); the web client, which
 * has no address of the server behind its transport, with the host and port it was given.
 *
 * @example
 * closedDuringKexOrAuth('127.0.0.1', 22); // 'Connection closed by 127.0.0.1 port 22'
 */
export function closedDuringKexOrAuth(address: string, port: number): string {
  return `Connection closed by ${address} port ${port}`;
}

/**
 * ssh 9.2 kex.c kex_exchange_identification's error when the peer closes before its
 * identification line (no server byte yet): the Node, web and ProxyCommand transports' text.
 */
export const KEX_IDENTIFICATION_CLOSED = 'kex_exchange_identification: Connection closed by remote host';
