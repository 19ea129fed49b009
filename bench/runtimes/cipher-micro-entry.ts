/** The cipher microbenchmark as a script: pure provider, plus node:crypto where the runtime has it. */
import { nodeCryptoProvider } from '../../src/node/crypto-provider.js';
import { runMicro } from './cipher-micro.js';

console.log(JSON.stringify(runMicro([(await import('../../src/crypto/pure.js')).pureCryptoProvider, nodeCryptoProvider])));
