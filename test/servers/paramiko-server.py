#!/usr/bin/python3
"""An SSH server built on paramiko, for test/interop-other-servers.test.ts.

Debian package: python3-paramiko (2.12 on Debian 12). Run it with Debian's /usr/bin/python3.

Listens on 127.0.0.1:PORT in the foreground until killed, one thread per connection. One user,
--user, who logs in with a key listed in --authorized-keys or with --password. Paramiko leaves
direct-tcpip (ssh -L) to the application: this server connects to the destination and copies
bytes both ways, passing each side's EOF on. No session channels (pure-ssh runs no remote
command). Prints "listening PORT" on stdout once it accepts connections.
"""
import argparse
import socket
import sys
import threading
import warnings

warnings.filterwarnings('ignore')
import paramiko  # noqa: E402


def load_host_key(path: str) -> paramiko.PKey:
    """The host key file as paramiko's key class for its type (OpenSSH or PEM format)."""
    for cls in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return cls.from_private_key_file(path)
        except paramiko.SSHException:
            continue
    raise SystemExit(f'{path}: not an ed25519, ECDSA or RSA private key paramiko can read')


def read_authorized(path: str) -> set:
    """The base64 key blobs of an authorized_keys file (no options, as ssh-keygen writes them)."""
    blobs = set()
    with open(path) as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 2 and not line.startswith('#'):
                blobs.add(fields[1])
    return blobs


class Server(paramiko.ServerInterface):
    def __init__(self, args, authorized):
        self.args = args
        self.authorized = authorized
        self.targets = {}  # channel id -> connected socket, from the direct-tcpip request to accept()

    def get_allowed_auths(self, username):
        return 'publickey,password'

    def check_auth_publickey(self, username, key):
        ok = username == self.args.user and key.get_base64() in self.authorized
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

    def check_auth_password(self, username, password):
        ok = username == self.args.user and password == self.args.password
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

    def check_channel_request(self, kind, chanid):
        # direct-tcpip goes to check_channel_direct_tcpip_request; nothing else is served.
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_direct_tcpip_request(self, chanid, origin, destination):
        try:
            self.targets[chanid] = socket.create_connection(destination, timeout=10)
        except OSError:
            return paramiko.OPEN_FAILED_CONNECT_FAILED
        self.targets[chanid].settimeout(None)
        return paramiko.OPEN_SUCCEEDED


def copy(read, write, done):
    """Copies until `read` returns b'' (EOF), then calls `done` (the half-close); errors end it too."""
    try:
        while True:
            data = read(65536)
            if not data:
                break
            write(data)
        done()
    except (OSError, EOFError, paramiko.SSHException):
        pass


def tunnel(chan, sock):
    up = threading.Thread(target=copy, args=(chan.recv, sock.sendall, lambda: sock.shutdown(socket.SHUT_WR)), daemon=True)
    up.start()
    copy(sock.recv, chan.sendall, chan.shutdown_write)
    up.join()
    chan.close()
    sock.close()


def serve(conn, args, host_key, authorized):
    transport = paramiko.Transport(conn)
    transport.add_server_key(host_key)
    server = Server(args, authorized)
    try:
        transport.start_server(server=server)
    except (paramiko.SSHException, EOFError, OSError):
        return
    while transport.is_active():
        chan = transport.accept(1)
        if chan is None:
            continue
        sock = server.targets.pop(chan.get_id(), None)
        if sock is None:
            chan.close()
        else:
            threading.Thread(target=tunnel, args=(chan, sock), daemon=True).start()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--port', type=int, required=True)
    p.add_argument('--host-key', required=True, help='private host key file')
    p.add_argument('--authorized-keys', required=True, help='authorized_keys file for --user')
    p.add_argument('--user', required=True)
    p.add_argument('--password', required=True)
    args = p.parse_args()
    host_key = load_host_key(args.host_key)
    authorized = read_authorized(args.authorized_keys)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(('127.0.0.1', args.port))
    listener.listen(64)
    print('listening', args.port, flush=True)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn, args, host_key, authorized), daemon=True).start()


if __name__ == '__main__':
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
