#!/usr/bin/python3
"""An SSH server built on asyncssh, for test/interop-other-servers.test.ts.

Debian package: python3-asyncssh (2.10 on Debian 12). Run it with Debian's /usr/bin/python3.

Listens on 127.0.0.1:PORT in the foreground until killed. One user, --user, who logs in with
a key listed in --authorized-keys or with --password; every direct-tcpip channel (ssh -L) is
allowed, and asyncssh itself connects to the destination. No session channels (pure-ssh runs
no remote command). Prints "listening PORT" on stdout once it accepts connections.
"""
import argparse
import asyncio
import sys
import warnings

# asyncssh imports ciphers that python3-cryptography marks deprecated: keep stderr for real errors.
warnings.filterwarnings('ignore')
import asyncssh  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--port', type=int, required=True)
    p.add_argument('--host-key', required=True, help='private host key file (OpenSSH format)')
    p.add_argument('--authorized-keys', required=True, help='authorized_keys file for --user')
    p.add_argument('--user', required=True)
    p.add_argument('--password', required=True)
    a = p.parse_args()

    authorized = {k.public_data for k in asyncssh.read_public_key_list(a.authorized_keys)}

    class Server(asyncssh.SSHServer):
        def begin_auth(self, username: str) -> bool:
            return True  # authentication is always required

        def public_key_auth_supported(self) -> bool:
            return True

        def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
            return username == a.user and key.public_data in authorized

        def password_auth_supported(self) -> bool:
            return True

        def validate_password(self, username: str, password: str) -> bool:
            return username == a.user and password == a.password

        def connection_requested(self, dest_host, dest_port, orig_host, orig_port) -> bool:
            return True  # direct-tcpip: asyncssh opens the connection to dest_host:dest_port

    async def serve() -> None:
        await asyncssh.create_server(Server, '127.0.0.1', a.port, server_host_keys=[a.host_key])
        print('listening', a.port, flush=True)
        await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == '__main__':
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
