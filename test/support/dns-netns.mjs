// A test host with its own resolver: run inside `unshare -m -n` (a new mount and network
// namespace), it brings loopback up, points /etc/resolv.conf at a small DNS server of its own on
// 127.0.0.1:53 (A and CNAME records from a zone given as JSON), then runs each command of a job
// list and prints their status, stdout and stderr as JSON. Nothing leaves the namespace: it has
// only its own loopback. Used by test/config-canonicalize.test.ts to give OpenSSH's ssh and
// pure-ssh the same real getaddrinfo(3) answers.
//
// argv: ZONE_JSON JOBS_JSON, with ZONE {"name": {"a": "127.0.0.1"} | {"cname": "other"}} and
// JOBS [[command, ...args], ...].
import { execFileSync, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const zone = JSON.parse(process.argv[2]);
const jobs = JSON.parse(process.argv[3]);

execFileSync('ip', ['link', 'set', 'lo', 'up']);
const dir = mkdtempSync(join(tmpdir(), 'pure-ssh-dns-'));
writeFileSync(join(dir, 'resolv.conf'), 'nameserver 127.0.0.1\noptions attempts:1 timeout:1\n');
execFileSync('mount', ['--bind', join(dir, 'resolv.conf'), '/etc/resolv.conf']);

/** RFC 1035 §4.1.2: a QNAME, returning the dotted name (lowercase) and the offset after it. */
function readName(buf, off) {
  const labels = [];
  for (;;) {
    const len = buf[off++];
    if (len === 0) break;
    labels.push(buf.subarray(off, off + len).toString('latin1'));
    off += len;
  }
  return { name: labels.join('.').toLowerCase(), end: off };
}

function encodeName(name) {
  const parts = name.split('.').filter((l) => l !== '');
  return Buffer.concat([...parts.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])), Buffer.from([0])]);
}

/** RFC 1035 §4.1.3: one resource record, class IN, TTL 60. */
function record(name, type, rdata) {
  const head = Buffer.alloc(10);
  head.writeUInt16BE(type, 0);
  head.writeUInt16BE(1, 2);
  head.writeUInt32BE(60, 4);
  head.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([encodeName(name), head, rdata]);
}

const A = 1, CNAME = 5;
function answer(query) {
  const { name, end } = readName(query, 12);
  const qtype = query.readUInt16BE(end);
  const question = query.subarray(12, end + 4);
  const answers = [];
  let current = name;
  let known = zone[current] !== undefined;
  // Follow CNAMEs within the zone, as a recursive server answers (RFC 1034 §4.3.2).
  for (let i = 0; i < 8 && zone[current]?.cname; i++) {
    answers.push(record(current, CNAME, encodeName(zone[current].cname)));
    if (qtype === CNAME) break;
    current = zone[current].cname.toLowerCase();
  }
  if (qtype === A && zone[current]?.a) answers.push(record(current, A, Buffer.from(zone[current].a.split('.').map(Number))));
  const head = Buffer.alloc(12);
  query.copy(head, 0, 0, 2); // ID
  // QR, AA, RD copied, RA; RCODE 3 (NXDOMAIN) for a name the zone does not have.
  head.writeUInt16BE(0x8480 | (query.readUInt16BE(2) & 0x0100) | (known ? 0 : 3), 2);
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(answers.length, 6);
  return Buffer.concat([head, question, ...answers]);
}

const server = createSocket('udp4');
server.on('message', (msg, rinfo) => {
  try {
    server.send(answer(msg), rinfo.port, rinfo.address);
  } catch {
    // a malformed query gets no answer
  }
});
await new Promise((resolve) => server.bind(53, '127.0.0.1', resolve));

const results = [];
for (const [cmd, ...args] of jobs) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const status = await new Promise((resolve) => child.on('close', (code) => resolve(code)));
  results.push({ status, stdout, stderr });
}
server.close();
process.stdout.write(JSON.stringify(results));
