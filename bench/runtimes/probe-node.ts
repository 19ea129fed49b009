import { nodeCryptoProvider } from '../../src/node/crypto-provider.js';
import { dialNodeWeb } from '../../test/runtimes/dial-node.js';
import { probe, type ProbeParams } from './probe.js';
const p = JSON.parse(process.argv[2]!) as ProbeParams;
console.log(JSON.stringify(await probe(() => dialNodeWeb(p.port), p, nodeCryptoProvider)));
