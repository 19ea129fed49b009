/**
 * SSH message numbers (RFC 4250 §4.1) and codecs for the transport- and connection-level
 * messages pure-ssh exchanges, as plain data plus one decode table keyed by message number
 * (golang/crypto's messages.go shape, without reflection). Decoding is strict: bounds-checked,
 * trailing bytes rejected on fully known messages.
 */
import { SshReader, SshWriter } from './wire.js';

/** RFC 4250 §4.1.2 message numbers. */
export const MSG = {
  DISCONNECT: 1,
  IGNORE: 2,
  UNIMPLEMENTED: 3,
  DEBUG: 4,
  SERVICE_REQUEST: 5,
  SERVICE_ACCEPT: 6,
  EXT_INFO: 7, // RFC 8308 §2.3
  KEXINIT: 20,
  NEWKEYS: 21,
  KEX_ECDH_INIT: 30, // RFC 5656 §7.1, RFC 8731 §3
  KEX_ECDH_REPLY: 31,
  USERAUTH_REQUEST: 50,
  USERAUTH_FAILURE: 51,
  USERAUTH_SUCCESS: 52,
  USERAUTH_BANNER: 53,
  USERAUTH_60: 60, // PK_OK / PASSWD_CHANGEREQ / INFO_REQUEST, by method (RFC 4252 §7, §8; RFC 4256)
  USERAUTH_INFO_RESPONSE: 61,
  GLOBAL_REQUEST: 80,
  REQUEST_SUCCESS: 81,
  REQUEST_FAILURE: 82,
  CHANNEL_OPEN: 90,
  CHANNEL_OPEN_CONFIRMATION: 91,
  CHANNEL_OPEN_FAILURE: 92,
  CHANNEL_WINDOW_ADJUST: 93,
  CHANNEL_DATA: 94,
  CHANNEL_EXTENDED_DATA: 95,
  CHANNEL_EOF: 96,
  CHANNEL_CLOSE: 97,
  CHANNEL_REQUEST: 98,
  CHANNEL_SUCCESS: 99,
  CHANNEL_FAILURE: 100,
} as const;

/** Name of a message number for logs and errors. */
export function messageName(n: number): string {
  for (const [k, v] of Object.entries(MSG)) if (v === n) return `SSH_MSG_${k}`;
  return `message ${n}`;
}

/** RFC 4253 §11.1 */
export interface DisconnectMsg {
  type: typeof MSG.DISCONNECT;
  reason: number;
  description: string;
  language: string;
}
/** RFC 4253 §11.4 */
export interface UnimplementedMsg {
  type: typeof MSG.UNIMPLEMENTED;
  seq: number;
}
/** RFC 4253 §11.3 */
export interface DebugMsg {
  type: typeof MSG.DEBUG;
  alwaysDisplay: boolean;
  message: string;
  language: string;
}
/** RFC 4253 §10 */
export interface ServiceAcceptMsg {
  type: typeof MSG.SERVICE_ACCEPT;
  service: string;
}
/** RFC 8308 §2.3 */
export interface ExtInfoMsg {
  type: typeof MSG.EXT_INFO;
  extensions: Map<string, Uint8Array>;
}
/** RFC 5656 §4 / RFC 8731 §3 */
export interface KexEcdhReplyMsg {
  type: typeof MSG.KEX_ECDH_REPLY;
  hostKey: Uint8Array;
  serverPublic: Uint8Array;
  signature: Uint8Array;
}
/** RFC 4252 §5.1 */
export interface UserauthFailureMsg {
  type: typeof MSG.USERAUTH_FAILURE;
  methods: string[];
  partialSuccess: boolean;
}
/** RFC 4252 §5.4 */
export interface UserauthBannerMsg {
  type: typeof MSG.USERAUTH_BANNER;
  message: string;
  language: string;
}
/** RFC 4254 §4 */
export interface GlobalRequestMsg {
  type: typeof MSG.GLOBAL_REQUEST;
  name: string;
  wantReply: boolean;
  data: Uint8Array;
}
/** RFC 4254 §5.1 */
export interface ChannelOpenMsg {
  type: typeof MSG.CHANNEL_OPEN;
  channelType: string;
  sender: number;
  initialWindow: number;
  maxPacket: number;
  data: Uint8Array;
}
/** RFC 4254 §5.1 */
export interface ChannelOpenConfirmationMsg {
  type: typeof MSG.CHANNEL_OPEN_CONFIRMATION;
  recipient: number;
  sender: number;
  initialWindow: number;
  maxPacket: number;
}
/** RFC 4254 §5.1 */
export interface ChannelOpenFailureMsg {
  type: typeof MSG.CHANNEL_OPEN_FAILURE;
  recipient: number;
  reason: number;
  description: string;
  language: string;
}
/** RFC 4254 §5.2 */
export interface ChannelWindowAdjustMsg {
  type: typeof MSG.CHANNEL_WINDOW_ADJUST;
  recipient: number;
  bytes: number;
}
/** RFC 4254 §5.2: `data` is a view into the decrypted packet, not a copy. */
export interface ChannelDataMsg {
  type: typeof MSG.CHANNEL_DATA;
  recipient: number;
  data: Uint8Array;
}
/** RFC 4254 §5.2 */
export interface ChannelExtendedDataMsg {
  type: typeof MSG.CHANNEL_EXTENDED_DATA;
  recipient: number;
  dataType: number;
  data: Uint8Array;
}
/** RFC 4254 §5.3 (EOF, CLOSE), §5.4 (SUCCESS, FAILURE) */
export interface ChannelSimpleMsg {
  type: typeof MSG.CHANNEL_EOF | typeof MSG.CHANNEL_CLOSE | typeof MSG.CHANNEL_SUCCESS | typeof MSG.CHANNEL_FAILURE;
  recipient: number;
}
/** RFC 4254 §5.4 */
export interface ChannelRequestMsg {
  type: typeof MSG.CHANNEL_REQUEST;
  recipient: number;
  request: string;
  wantReply: boolean;
  data: Uint8Array;
}
/** Messages with no fields we use (IGNORE, NEWKEYS, USERAUTH_SUCCESS, REQUEST_SUCCESS/FAILURE). */
export interface BareMsg {
  type:
    | typeof MSG.IGNORE
    | typeof MSG.NEWKEYS
    | typeof MSG.USERAUTH_SUCCESS
    | typeof MSG.REQUEST_SUCCESS
    | typeof MSG.REQUEST_FAILURE;
}

export type Message =
  | DisconnectMsg
  | UnimplementedMsg
  | DebugMsg
  | ServiceAcceptMsg
  | ExtInfoMsg
  | KexEcdhReplyMsg
  | UserauthFailureMsg
  | UserauthBannerMsg
  | GlobalRequestMsg
  | ChannelOpenMsg
  | ChannelOpenConfirmationMsg
  | ChannelOpenFailureMsg
  | ChannelWindowAdjustMsg
  | ChannelDataMsg
  | ChannelExtendedDataMsg
  | ChannelSimpleMsg
  | ChannelRequestMsg
  | BareMsg;

// RFC 8308 §2.3: a generous cap on extension count before allocating a map entry per item.
const MAX_EXTENSIONS = 64;

type Decoder = (r: SshReader) => Message;

// The name for the trailing-bytes error is looked up once per message type, not per message
// (messageName walks the MSG table: an array of entries per call).
const recipientOnly = (type: ChannelSimpleMsg['type']): Decoder => {
  let name: string | undefined;
  return (r) => {
    const m: ChannelSimpleMsg = { type, recipient: r.uint32() };
    r.end((name ??= messageName(type)));
    return m;
  };
};

const bare = (type: BareMsg['type'], strict: boolean): Decoder => {
  let name: string | undefined;
  return (r) => {
    // RFC 4253 §11.2: IGNORE carries an arbitrary string; the others are empty.
    if (strict) r.end((name ??= messageName(type)));
    return { type };
  };
};

/** The decode table (message number → decoder). Messages not in it are handled by their layer. */
const decoders: Record<number, Decoder> = {
  [MSG.DISCONNECT]: (r) => {
    const m: DisconnectMsg = { type: MSG.DISCONNECT, reason: r.uint32(), description: r.text(), language: '' };
    // RFC 4253 §11.1: language tag; tolerate its absence from sloppy peers, as OpenSSH does.
    // packet.c: the description is logged escaped (strnvis), in whatever encoding it came.
    if (r.remaining > 0) m.language = r.text();
    return m;
  },
  [MSG.IGNORE]: bare(MSG.IGNORE, false),
  [MSG.UNIMPLEMENTED]: (r) => {
    const m: UnimplementedMsg = { type: MSG.UNIMPLEMENTED, seq: r.uint32() };
    r.end('SSH_MSG_UNIMPLEMENTED');
    return m;
  },
  [MSG.DEBUG]: (r) => {
    const m: DebugMsg = { type: MSG.DEBUG, alwaysDisplay: r.boolean(), message: r.text(), language: '' };
    if (r.remaining > 0) m.language = r.text();
    return m;
  },
  [MSG.SERVICE_ACCEPT]: (r) => {
    const m: ServiceAcceptMsg = { type: MSG.SERVICE_ACCEPT, service: r.text() };
    r.end('SSH_MSG_SERVICE_ACCEPT');
    return m;
  },
  [MSG.EXT_INFO]: (r) => {
    const n = r.uint32();
    if (n > MAX_EXTENSIONS) {
      r.raw(r.remaining + 1, `EXT_INFO with ${n} extensions`); // throws ERR_MALFORMED_PACKET
    }
    const extensions = new Map<string, Uint8Array>();
    for (let i = 0; i < n; i++) extensions.set(r.text('extension name'), r.string('extension value'));
    r.end('SSH_MSG_EXT_INFO');
    return { type: MSG.EXT_INFO, extensions };
  },
  [MSG.NEWKEYS]: bare(MSG.NEWKEYS, true),
  [MSG.KEX_ECDH_REPLY]: (r) => {
    const m: KexEcdhReplyMsg = {
      type: MSG.KEX_ECDH_REPLY,
      hostKey: r.string('host key'),
      serverPublic: r.string('server public key'),
      signature: r.string('signature'),
    };
    r.end('SSH_MSG_KEX_ECDH_REPLY');
    return m;
  },
  [MSG.USERAUTH_FAILURE]: (r) => {
    const m: UserauthFailureMsg = {
      type: MSG.USERAUTH_FAILURE,
      methods: r.nameList('authentications that can continue'),
      partialSuccess: r.boolean(),
    };
    r.end('SSH_MSG_USERAUTH_FAILURE');
    return m;
  },
  [MSG.USERAUTH_SUCCESS]: bare(MSG.USERAUTH_SUCCESS, true),
  [MSG.USERAUTH_BANNER]: (r) => {
    const m: UserauthBannerMsg = { type: MSG.USERAUTH_BANNER, message: r.text(), language: '' };
    if (r.remaining > 0) m.language = r.text();
    return m;
  },
  [MSG.GLOBAL_REQUEST]: (r) => ({
    type: MSG.GLOBAL_REQUEST,
    name: r.text('request name'),
    wantReply: r.boolean(),
    data: r.rest(),
  }),
  // RFC 4254 §4: REQUEST_SUCCESS may carry request-specific data; we never ask for any.
  [MSG.REQUEST_SUCCESS]: bare(MSG.REQUEST_SUCCESS, false),
  [MSG.REQUEST_FAILURE]: bare(MSG.REQUEST_FAILURE, true),
  [MSG.CHANNEL_OPEN]: (r) => ({
    type: MSG.CHANNEL_OPEN,
    channelType: r.text('channel type'),
    sender: r.uint32(),
    initialWindow: r.uint32(),
    maxPacket: r.uint32(),
    data: r.rest(),
  }),
  [MSG.CHANNEL_OPEN_CONFIRMATION]: (r) => ({
    type: MSG.CHANNEL_OPEN_CONFIRMATION,
    recipient: r.uint32(),
    sender: r.uint32(),
    initialWindow: r.uint32(),
    maxPacket: r.uint32(),
    // RFC 4254 §5.1: channel-type specific data may follow; direct-tcpip has none.
  }),
  [MSG.CHANNEL_OPEN_FAILURE]: (r) => {
    const m: ChannelOpenFailureMsg = {
      type: MSG.CHANNEL_OPEN_FAILURE,
      recipient: r.uint32(),
      reason: r.uint32(),
      description: r.text(),
      language: '',
    };
    if (r.remaining > 0) m.language = r.text();
    return m;
  },
  [MSG.CHANNEL_WINDOW_ADJUST]: (r) => {
    const m: ChannelWindowAdjustMsg = { type: MSG.CHANNEL_WINDOW_ADJUST, recipient: r.uint32(), bytes: r.uint32() };
    r.end('SSH_MSG_CHANNEL_WINDOW_ADJUST');
    return m;
  },
  [MSG.CHANNEL_DATA]: (r) => {
    const m: ChannelDataMsg = { type: MSG.CHANNEL_DATA, recipient: r.uint32(), data: r.string('channel data') };
    r.end('SSH_MSG_CHANNEL_DATA');
    return m;
  },
  [MSG.CHANNEL_EXTENDED_DATA]: (r) => {
    const m: ChannelExtendedDataMsg = {
      type: MSG.CHANNEL_EXTENDED_DATA,
      recipient: r.uint32(),
      dataType: r.uint32(),
      data: r.string('channel data'),
    };
    r.end('SSH_MSG_CHANNEL_EXTENDED_DATA');
    return m;
  },
  [MSG.CHANNEL_EOF]: recipientOnly(MSG.CHANNEL_EOF),
  [MSG.CHANNEL_CLOSE]: recipientOnly(MSG.CHANNEL_CLOSE),
  [MSG.CHANNEL_SUCCESS]: recipientOnly(MSG.CHANNEL_SUCCESS),
  [MSG.CHANNEL_FAILURE]: recipientOnly(MSG.CHANNEL_FAILURE),
  [MSG.CHANNEL_REQUEST]: (r) => ({
    type: MSG.CHANNEL_REQUEST,
    recipient: r.uint32(),
    request: r.text('request type'),
    wantReply: r.boolean(),
    data: r.rest(),
  }),
};

/**
 * Decode a payload whose first byte is a message number in the table. Returns undefined for
 * numbers the table does not know (the caller decides: layer-specific or UNIMPLEMENTED).
 */
export function decodeMessage(payload: Uint8Array): Message | undefined {
  const decode = decoders[payload[0]!];
  if (!decode) return undefined;
  return decode(new SshReader(payload, 1));
}

// ---- encoders for what the client sends ----

/** RFC 4253 §11.1 */
export function encodeDisconnect(reason: number, description: string): Uint8Array {
  return new SshWriter(64).byte(MSG.DISCONNECT).uint32(reason).string(description).string('').toBytes();
}
/** RFC 4253 §11.4 */
export function encodeUnimplemented(seq: number): Uint8Array {
  return new SshWriter(8).byte(MSG.UNIMPLEMENTED).uint32(seq).toBytes();
}
/** RFC 4253 §11.2 */
export function encodeIgnore(data: Uint8Array = new Uint8Array(0)): Uint8Array {
  return new SshWriter(8 + data.length).byte(MSG.IGNORE).string(data).toBytes();
}
/** RFC 4253 §10 */
export function encodeServiceRequest(service: string): Uint8Array {
  return new SshWriter(32).byte(MSG.SERVICE_REQUEST).string(service).toBytes();
}
/** RFC 4253 §7.3 */
export function encodeNewKeys(): Uint8Array {
  return Uint8Array.of(MSG.NEWKEYS);
}
/** RFC 4254 §4 */
export function encodeGlobalRequest(name: string, wantReply: boolean, data?: Uint8Array): Uint8Array {
  const w = new SshWriter(32).byte(MSG.GLOBAL_REQUEST).string(name).boolean(wantReply);
  if (data) w.raw(data);
  return w.toBytes();
}
/** RFC 4254 §4: REQUEST_SUCCESS / REQUEST_FAILURE */
export function encodeRequestReply(success: boolean): Uint8Array {
  return Uint8Array.of(success ? MSG.REQUEST_SUCCESS : MSG.REQUEST_FAILURE);
}
/** RFC 4254 §5.1 */
export function encodeChannelOpen(
  channelType: string,
  sender: number,
  initialWindow: number,
  maxPacket: number,
  data: Uint8Array,
): Uint8Array {
  return new SshWriter(64 + data.length)
    .byte(MSG.CHANNEL_OPEN)
    .string(channelType)
    .uint32(sender)
    .uint32(initialWindow)
    .uint32(maxPacket)
    .raw(data)
    .toBytes();
}
/** RFC 4254 §5.1 */
export function encodeChannelOpenFailure(recipient: number, reason: number, description: string): Uint8Array {
  return new SshWriter(64)
    .byte(MSG.CHANNEL_OPEN_FAILURE)
    .uint32(recipient)
    .uint32(reason)
    .string(description)
    .string('')
    .toBytes();
}
/** RFC 4254 §5.2 */
export function encodeWindowAdjust(recipient: number, bytes: number): Uint8Array {
  return new SshWriter(9).byte(MSG.CHANNEL_WINDOW_ADJUST).uint32(recipient).uint32(bytes).toBytes();
}
/** RFC 4254 §5.3 (EOF, CLOSE), §5.4 (SUCCESS, FAILURE) */
export function encodeChannelSimple(type: ChannelSimpleMsg['type'], recipient: number): Uint8Array {
  return new SshWriter(5).byte(type).uint32(recipient).toBytes();
}
/** RFC 4254 §5.2 (used off the hot path; the packet encoder frames CHANNEL_DATA in place) */
export function encodeChannelData(recipient: number, data: Uint8Array): Uint8Array {
  return new SshWriter(9 + data.length).byte(MSG.CHANNEL_DATA).uint32(recipient).string(data).toBytes();
}
