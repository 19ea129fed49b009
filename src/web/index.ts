/**
 * pure-ssh for every JavaScript runtime: browsers (over a WebSocket bridge), Workers, Deno, Bun
 * and Node, through WHATWG streams. Web APIs only (streams, crypto.getRandomValues, setTimeout),
 * pure TypeScript crypto by default (chacha20-poly1305@openssh.com in WebAssembly where the runtime
 * compiles it; `withWasm(pureCryptoProvider, 'off')` never uses it); no `node:*` import. Opt-ins
 * from subpaths of their own:
 * `crypto: nodeCryptoProvider` (`pure-ssh/node-crypto`, the runtime's node:crypto) and
 * `compression: zlibCompression` (`pure-ssh/compress-zlib`, zlib@openssh.com on pako), and
 * `extraKeyDecryption` (`pure-ssh/key-decryption`: PEM/PKCS#8 keys under 3DES, PKCS#12 PBE or scrypt,
 * OpenSSH keys under 3des-cbc, encrypted PuTTY PPK v3 keys (Argon2)).
 *
 * @example
 * ```ts
 * import { connect } from 'pure-ssh/web';
 * import { connect as tcp } from 'cloudflare:sockets';
 * const ssh = await connect({ transport: tcp('db.example:22'), host: 'db.example', username: 'joe', privateKey, knownHosts });
 * const ch = await ssh.openDirectTcpip({ host: 'localhost', port: 80 });
 * ```
 */
export { connect, WebSshClient, type WebConnectOptions, type ByteStreamPair } from './client.js';
export { WebChannel } from './channel.js';
export { webSocketStreams, WebSocketClosedError, type WebSocketStreamsOptions } from './websocket.js';
export { knownHostsFromText, knownHostsTextVerifier, type WebHostKeyInfo, type WebHostKeyVerifier } from './host-key.js';
export { webRandom } from './random.js';
export type { CryptoProvider } from '../crypto/provider.js';
export { pureCryptoProvider, pureTsCryptoProvider } from '../crypto/pure.js';
export { withWasm, type WasmChoice } from '../crypto/chacha20-poly1305-wasm.js';
export type { CompressionProvider } from '../compress/compressor.js';
export * from '../errors.js';
export { parsePrivateKey, parsePublicKeyLine, type PrivateKey, type ParsePrivateKeyOptions } from '../keys/privatekey.js';
export type { ExtraKeyDecryption } from '../keys/extra-key-decryption.js';
export type { Signer } from '../auth/signer.js';
export { fingerprintSha256 } from '../keys/hostkey.js';
export type { DirectTcpipParams } from '../connection/connection.js';
