// Drives a kv-node (or a cluster node) with three Node.js Redis clients and checks every answer.
// Usage: node clients.js PORT [PASSWORD]   (scripts/interop-clients.sh installs the clients and starts the nodes)
const assert = require('node:assert/strict');
const IORedis = require('ioredis');
const redis4 = require('redis');
const redis5 = require('redis5');

const port = Number(process.argv[2]);
const password = process.argv[3];
const run = Date.now().toString(36);
let checks = 0, failures = 0;

async function check(name, fn) {
  try {
    await fn();
    checks++;
  } catch (e) {
    failures++;
    console.log(`FAIL ${name}: ${e.message.split('\n').slice(0, 6).join(' | ')}`);
  }
}
const sleep = ms => new Promise(r => setTimeout(r, ms));

async function ioredisSuite() {
  const c = new IORedis({ port, host: '127.0.0.1', password, lazyConnect: true, maxRetriesPerRequest: 1 });
  await c.connect();
  const k = s => `io:${run}:${s}`;
  await check('io ping', async () => assert.equal(await c.ping(), 'PONG'));
  await check('io echo', async () => assert.equal(await c.echo('hé'), 'hé'));
  await check('io set/get', async () => { assert.equal(await c.set(k('a'), 'v1'), 'OK'); assert.equal(await c.get(k('a')), 'v1'); });
  await check('io get missing', async () => assert.equal(await c.get(k('none')), null));
  await check('io set NX/XX', async () => {
    assert.equal(await c.set(k('nx'), '1', 'NX'), 'OK');
    assert.equal(await c.set(k('nx'), '2', 'NX'), null);
    assert.equal(await c.set(k('xx'), '1', 'XX'), null);
    assert.equal(await c.set(k('nx'), '3', 'XX'), 'OK');
    assert.equal(await c.get(k('nx')), '3');
  });
  await check('io set GET', async () => { assert.equal(await c.set(k('g'), 'old'), 'OK'); assert.equal(await c.set(k('g'), 'new', 'GET'), 'old'); });
  await check('io set EX/TTL/PTTL', async () => {
    await c.set(k('ex'), 'v', 'EX', 100);
    const ttl = await c.ttl(k('ex')); assert.ok(ttl > 95 && ttl <= 100, `ttl ${ttl}`);
    const pttl = await c.pttl(k('ex')); assert.ok(pttl > 95000 && pttl <= 100000, `pttl ${pttl}`);
    assert.equal(await c.ttl(k('a')), -1); assert.equal(await c.ttl(k('none')), -2);
  });
  await check('io PX expiry', async () => { await c.set(k('px'), 'v', 'PX', 150); assert.equal(await c.get(k('px')), 'v'); await sleep(400); assert.equal(await c.get(k('px')), null); assert.equal(await c.exists(k('px')), 0); });
  await check('io EXAT/PXAT', async () => {
    await c.set(k('exat'), 'v', 'EXAT', Math.floor(Date.now() / 1000) + 1000);
    const t = await c.ttl(k('exat')); assert.ok(t > 990 && t <= 1000, `ttl ${t}`);
    await c.set(k('pxat'), 'v', 'PXAT', Date.now() + 50000);
    const p = await c.pttl(k('pxat')); assert.ok(p > 45000 && p <= 50000, `pttl ${p}`);
  });
  await check('io KEEPTTL', async () => { await c.set(k('kt'), 'a', 'EX', 500); await c.set(k('kt'), 'b', 'KEEPTTL'); const t = await c.ttl(k('kt')); assert.ok(t > 490, `ttl ${t}`); assert.equal(await c.get(k('kt')), 'b'); });
  await check('io setnx', async () => { assert.equal(await c.setnx(k('sn'), 'x'), 1); assert.equal(await c.setnx(k('sn'), 'y'), 0); });
  await check('io getdel', async () => { await c.set(k('gd'), 'z'); assert.equal(await c.getdel(k('gd')), 'z'); assert.equal(await c.get(k('gd')), null); });
  await check('io getex', async () => { await c.set(k('ge'), 'z'); assert.equal(await c.getex(k('ge'), 'EX', 300), 'z'); const t = await c.ttl(k('ge')); assert.ok(t > 290, `ttl ${t}`); assert.equal(await c.getex(k('ge'), 'PERSIST'), 'z'); assert.equal(await c.ttl(k('ge')), -1); });
  await check('io del/unlink/exists', async () => {
    await c.mset(k('d1'), '1', k('d2'), '2', k('d3'), '3');
    assert.equal(await c.exists(k('d1'), k('d2'), k('d1'), k('none')), 3);
    assert.equal(await c.del(k('d1'), k('none')), 1);
    assert.equal(await c.unlink(k('d2'), k('d3')), 2);
    assert.equal(await c.exists(k('d1'), k('d2'), k('d3')), 0);
  });
  await check('io mset/mget', async () => {
    const keys = Array.from({ length: 50 }, (_, i) => k(`m${i}`));
    assert.equal(await c.mset(...keys.flatMap((key, i) => [key, `v${i}`])), 'OK');
    const got = await c.mget(...keys, k('none'));
    assert.deepEqual(got, [...keys.map((_, i) => `v${i}`), null]);
  });
  await check('io expire family', async () => {
    await c.set(k('e'), 'v');
    assert.equal(await c.expire(k('e'), 100), 1); assert.equal(await c.expire(k('none'), 100), 0);
    assert.equal(await c.pexpire(k('e'), 200000), 1); const p = await c.pttl(k('e')); assert.ok(p > 190000, `pttl ${p}`);
    assert.equal(await c.expireat(k('e'), Math.floor(Date.now() / 1000) + 300), 1); const t = await c.ttl(k('e')); assert.ok(t > 290 && t <= 300, `ttl ${t}`);
    assert.equal(await c.persist(k('e')), 1); assert.equal(await c.persist(k('e')), 0); assert.equal(await c.ttl(k('e')), -1);
    assert.equal(await c.expire(k('e'), 0), 1); assert.equal(await c.exists(k('e')), 0);
  });
  await check('io incr family', async () => {
    assert.equal(await c.incr(k('n')), 1); assert.equal(await c.incrby(k('n'), 10), 11);
    assert.equal(await c.decr(k('n')), 10); assert.equal(await c.decrby(k('n'), 20), -10);
    assert.equal(await c.incrbyfloat(k('f'), '2.5'), '2.5');
    await c.set(k('ns'), 'abc'); await assert.rejects(c.incr(k('ns')), /not an integer/);
  });
  await check('io append/strlen/getrange/getset', async () => {
    assert.equal(await c.append(k('ap'), 'hello'), 5); assert.equal(await c.append(k('ap'), ' world'), 11);
    assert.equal(await c.strlen(k('ap')), 11); assert.equal(await c.getrange(k('ap'), -5, -1), 'world');
    assert.equal(await c.getset(k('ap'), 'x'), 'hello world'); assert.equal(await c.get(k('ap')), 'x');
  });
  await check('io setrange/memory usage/msetnx/object', async () => {
    await c.set(k('sr'), 'Hello World'); assert.equal(await c.setrange(k('sr'), 6, 'Redis'), 11); assert.equal(await c.get(k('sr')), 'Hello Redis');
    const bytes = await c.memory('USAGE', k('sr')); assert.ok(bytes > 11 && bytes < 200, `memory usage ${bytes}`);
    assert.equal(await c.memory('USAGE', k('none')), null);
    assert.equal(await c.msetnx(k('nx1'), 'a', k('nx2'), 'b'), 1); assert.equal(await c.msetnx(k('nx3'), 'c', k('nx1'), 'd'), 0);
    assert.equal(await c.exists(k('nx3')), 0); assert.equal(await c.object('ENCODING', k('nx1')), 'raw');
  });
  await check('io client kill', async () => {
    const other = new IORedis({ port, host: '127.0.0.1', password, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
    const errors = []; other.on('error', e => errors.push(e.message));
    await other.connect(); const id = await other.client('ID');
    assert.equal(await c.client('KILL', 'ID', id), 1);
    await sleep(200); assert.equal(other.status, 'end'); assert.deepEqual(errors, []); assert.equal(await c.ping(), 'PONG');
  });
  await check('io type', async () => { await c.set(k('t'), 'v'); assert.equal(await c.type(k('t')), 'string'); assert.equal(await c.type(k('none')), 'none'); });
  await check('io binary values', async () => {
    const buf = Buffer.alloc(256); for (let i = 0; i < 256; i++) buf[i] = i;
    await c.set(Buffer.from(k('bin\r\n\0')), buf);
    assert.deepEqual(await c.getBuffer(Buffer.from(k('bin\r\n\0'))), buf);
  });
  await check('io 1 MB value', async () => { const v = 'x'.repeat(1 << 20); await c.set(k('big'), v); assert.equal((await c.get(k('big'))).length, 1 << 20); });
  await check('io empty value', async () => { await c.set(k('empty'), ''); assert.equal(await c.get(k('empty')), ''); });
  await check('io scanStream', async () => {
    const want = new Set(Array.from({ length: 300 }, (_, i) => k(`s:${i}`)));
    const p = c.pipeline(); for (const key of want) p.set(key, '1'); await p.exec();
    const seen = new Set();
    await new Promise((resolve, reject) => {
      const s = c.scanStream({ match: `io:${run}:s:*`, count: 100 });
      s.on('data', ks => ks.forEach(x => seen.add(x))); s.on('end', resolve); s.on('error', reject);
    });
    assert.equal(seen.size, want.size); for (const key of want) assert.ok(seen.has(key), key);
  });
  await check('io pipeline 1000', async () => {
    const p = c.pipeline();
    for (let i = 0; i < 1000; i++) p.set(k(`p${i}`), `${i}`);
    for (let i = 0; i < 1000; i++) p.get(k(`p${i}`));
    const res = await p.exec();
    assert.equal(res.length, 2000);
    for (let i = 0; i < 1000; i++) { assert.equal(res[i][0], null); assert.equal(res[1000 + i][1], `${i}`); }
  });
  await check('io dbsize', async () => { const n = await c.dbsize(); assert.ok(Number.isInteger(n) && n > 0, `dbsize ${n}`); });
  await check('io info', async () => {
    const info = await c.info();
    for (const section of ['# Server', '# Clients', '# Memory', '# Persistence', '# Stats', '# Keyspace']) assert.ok(info.includes(section), section);
    assert.match(await c.info('engine'), /engine_/);
  });
  await check('io config get', async () => { const r = await c.config('GET', 'maxmemory'); assert.equal(r[0], 'maxmemory'); assert.equal(r.length, 2); });
  await check('io client', async () => {
    assert.equal(await c.client('SETNAME', 'interop-io'), 'OK');
    assert.equal(await c.client('GETNAME'), 'interop-io');
    const id = await c.client('ID'); assert.ok(Number.isInteger(id) && id > 0);
    assert.match(await c.client('INFO'), new RegExp(`id=${id} .*name=interop-io`));
    assert.match(await c.client('LIST'), /name=interop-io/);
  });
  await check('io command', async () => {
    const n = await c.command('COUNT'); assert.ok(n > 30, `count ${n}`);
    const info = await c.command('INFO', 'get'); assert.equal(info[0][0], 'get');
    const docs = await c.command('DOCS', 'set'); assert.equal(docs[0], 'set');
  });
  await check('io select 0 / 1', async () => {
    assert.equal(await c.select(0), 'OK');
    await assert.rejects(c.select(1), /ERR/);
  });
  await check('io multi refused, nothing applied', async () => {
    await assert.rejects(c.multi().set(k('tx'), '1').set(k('tx2'), '1').exec(), /EXECABORT|MULTI/);
    assert.equal(await c.get(k('tx')), null); assert.equal(await c.get(k('tx2')), null);
    assert.equal(await c.ping(), 'PONG');
  });
  await check('io unknown command', async () => { await assert.rejects(c.call('NOSUCH', 'a'), /ERR unknown command/); });
  await check('io wrong arity', async () => { await assert.rejects(c.call('GET'), /ERR wrong number of arguments/); });
  await check('io bad expire', async () => { await assert.rejects(c.set(k('x'), 'v', 'EX', -5), /ERR invalid expire time/); await assert.rejects(c.call('EXPIRE', k('x'), 'abc'), /ERR value is not an integer/); });
  await check('io syntax error', async () => { await assert.rejects(c.call('SET', k('x'), 'v', 'NX', 'XX'), /ERR syntax error/); });
  await check('io concurrent clients', async () => {
    const clients = Array.from({ length: 20 }, () => new IORedis({ port, host: '127.0.0.1', password }));
    await Promise.all(clients.map(async (cl, j) => {
      for (let i = 0; i < 50; i++) { await cl.set(k(`cc${j}:${i}`), `${j}:${i}`); assert.equal(await cl.get(k(`cc${j}:${i}`)), `${j}:${i}`); }
    }));
    await Promise.all(clients.map(cl => cl.quit()));
  });
  await check('io quit', async () => assert.equal(await c.quit(), 'OK'));
}

async function nodeRedisSuite(lib, label, options) {
  const c = lib.createClient({ socket: { port, host: '127.0.0.1', reconnectStrategy: false }, password, ...options });
  c.on('error', e => console.log(`${label} client error: ${e.message}`));
  await c.connect();
  const k = s => `${label}:${run}:${s}`;
  await check(`${label} ping`, async () => assert.equal(await c.ping(), 'PONG'));
  await check(`${label} set/get`, async () => { assert.equal(await c.set(k('a'), 'v1'), 'OK'); assert.equal(await c.get(k('a')), 'v1'); assert.equal(await c.get(k('none')), null); });
  await check(`${label} set options`, async () => {
    assert.equal(await c.set(k('o'), 'v', { EX: 100, NX: true }), 'OK');
    assert.equal(await c.set(k('o'), 'w', { NX: true }), null);
    const t = await c.ttl(k('o')); assert.ok(t > 95 && t <= 100, `ttl ${t}`);
    assert.equal(await c.set(k('o'), 'w', { GET: true }), 'v');
    assert.equal(await c.ttl(k('o')), -1);
  });
  await check(`${label} mset/mget`, async () => {
    await c.mSet([[k('m1'), '1'], [k('m2'), '2']]);
    assert.deepEqual(await c.mGet([k('m1'), k('m2'), k('none')]), ['1', '2', null]);
  });
  await check(`${label} exists/del`, async () => { assert.equal(await c.exists([k('m1'), k('m2')]), 2); assert.equal(await c.del([k('m1'), k('m2')]), 2); });
  await check(`${label} expire/ttl`, async () => { await c.set(k('e'), 'v'); assert.equal(Number(await c.expire(k('e'), 50)), 1); const t = await c.ttl(k('e')); assert.ok(t > 45, `ttl ${t}`); assert.equal(Number(await c.persist(k('e'))), 1); });
  await check(`${label} getEx/getDel`, async () => { await c.set(k('g'), 'v'); assert.equal(await c.getEx(k('g'), { PX: 60000 }), 'v'); assert.equal(await c.getDel(k('g')), 'v'); });
  await check(`${label} incr/append`, async () => {
    assert.equal(await c.incr(k('n')), 1); assert.equal(await c.incrBy(k('n'), 4), 5); assert.equal(await c.decr(k('n')), 4);
    assert.equal(Number(await c.incrByFloat(k('f'), 1.5)), 1.5);
    assert.equal(await c.append(k('ap'), 'ab'), 2); assert.equal(await c.strLen(k('ap')), 2); assert.equal(await c.getRange(k('ap'), 0, 0), 'a');
  });
  await check(`${label} type`, async () => { await c.set(k('t'), 'v'); assert.equal(await c.type(k('t')), 'string'); });
  await check(`${label} scanIterator`, async () => {
    for (let i = 0; i < 120; i++) await c.set(k(`s:${i}`), '1');
    const seen = new Set();
    for await (const item of c.scanIterator({ MATCH: `${label}:${run}:s:*`, COUNT: 50 })) {
      if (Array.isArray(item)) item.forEach(x => seen.add(x)); else seen.add(item);
    }
    assert.equal(seen.size, 120);
  });
  await check(`${label} pipeline (multi-less batch)`, async () => {
    const results = await Promise.all(Array.from({ length: 500 }, (_, i) => c.set(k(`p${i}`), `${i}`)));
    assert.ok(results.every(r => r === 'OK'));
    const got = await Promise.all(Array.from({ length: 500 }, (_, i) => c.get(k(`p${i}`))));
    assert.deepEqual(got, Array.from({ length: 500 }, (_, i) => `${i}`));
  });
  await check(`${label} info/dbsize`, async () => { assert.match(await c.info('server'), /# Server/); assert.ok((await c.dbSize()) > 0); });
  await check(`${label} client name`, async () => { await c.clientSetName(`${label}-c`); assert.equal(await c.clientGetName(), `${label}-c`); });
  await check(`${label} multi refused, nothing applied`, async () => {
    await assert.rejects(c.multi().set(k('tx'), '1').exec());
    assert.equal(await c.get(k('tx')), null); assert.equal(await c.ping(), 'PONG');
  });
  await check(`${label} unknown command`, async () => { await assert.rejects(c.sendCommand(['NOSUCH']), /ERR unknown command/); });
  await check(`${label} hello`, async () => { const h = await c.sendCommand(['HELLO']); assert.ok(h, 'hello answered'); });
  await check(`${label} quit`, async () => { await c.quit(); });
}

// A node run with --idle-timeout 1 (IDLE_PORT): an idle client must be closed the way Redis closes it, without a reply
// nobody asked for (ioredis raises one as "Command queue state error"), and reconnect.
async function idleSuite(idlePort) {
  await check('io idle-timeout close', async () => {
    const c = new IORedis({ port: idlePort, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 });
    const errors = []; c.on('error', e => errors.push(e.message));
    let closes = 0; c.on('close', () => closes++);
    await c.connect(); assert.equal(await c.ping(), 'PONG');
    await sleep(2500);
    assert.ok(closes >= 1, 'closed by the idle timeout'); assert.deepEqual(errors, []);
    assert.equal(await c.ping(), 'PONG'); // reconnected
    c.disconnect();
  });
}

(async () => {
  if (process.env.IDLE_PORT) {
    await idleSuite(Number(process.env.IDLE_PORT));
    console.log(`${checks} checks passed, ${failures} failed (port ${process.env.IDLE_PORT}, idle timeout)`);
    process.exit(failures ? 1 : 0);
  }
  await ioredisSuite();
  await nodeRedisSuite(redis4, 'noderedis4', {});
  await nodeRedisSuite(redis5, 'noderedis5-resp2', {});
  await nodeRedisSuite(redis5, 'noderedis5-resp3', { RESP: 3 });
  console.log(`${checks} checks passed, ${failures} failed (port ${port}${password ? ', with a password' : ''})`);
  process.exit(failures ? 1 : 0);
})().catch(e => { console.log(`FATAL ${e.stack}`); process.exit(2); });
