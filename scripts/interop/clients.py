"""Drives a kv-node (or a cluster node) with redis-py and checks every answer.
Usage: python3 clients.py PORT [PASSWORD]   (scripts/interop-clients.sh installs redis-py and starts the nodes)"""
import sys
import time

import redis

port = int(sys.argv[1])
password = sys.argv[2] if len(sys.argv) > 2 else None
run = format(int(time.time() * 1000), "x")
checks = failures = 0


def k(s):
    return f"py:{run}:{s}"


def check(name, fn):
    global checks, failures
    try:
        fn()
        checks += 1
    except Exception as e:  # a failed check is reported, and the next one runs
        failures += 1
        print(f"FAIL py {name}: {type(e).__name__}: {e}")


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


r = redis.Redis(host="127.0.0.1", port=port, password=password, decode_responses=True)
rb = redis.Redis(host="127.0.0.1", port=port, password=password)  # bytes in, bytes out


def set_get():
    expect(r.set(k("a"), "v1") is True, "set")
    expect(r.get(k("a")) == "v1", "get")
    expect(r.get(k("none")) is None, "missing")


def set_options():
    expect(r.set(k("nx"), "1", nx=True) is True, "nx first")
    expect(r.set(k("nx"), "2", nx=True) is None, "nx second")
    expect(r.set(k("xx"), "1", xx=True) is None, "xx absent")
    expect(r.set(k("nx"), "3", xx=True) is True, "xx present")
    expect(r.set(k("nx"), "4", get=True) == "3", "get")
    r.set(k("ex"), "v", ex=100)
    expect(95 < r.ttl(k("ex")) <= 100, "ex ttl")
    r.set(k("px"), "v", px=100000)
    expect(95000 < r.pttl(k("px")) <= 100000, "px pttl")
    r.set(k("exat"), "v", exat=int(time.time()) + 1000)
    expect(990 < r.ttl(k("exat")) <= 1000, "exat")
    r.set(k("pxat"), "v", pxat=int(time.time() * 1000) + 50000)
    expect(45000 < r.pttl(k("pxat")) <= 50000, "pxat")
    r.set(k("pxat"), "w", keepttl=True)
    expect(45000 < r.pttl(k("pxat")) <= 50000, "keepttl")


def expiry():
    r.set(k("e"), "v", px=150)
    expect(r.get(k("e")) == "v", "before")
    time.sleep(0.4)
    expect(r.get(k("e")) is None and r.exists(k("e")) == 0, "expired")
    r.set(k("e2"), "v")
    expect(r.expire(k("e2"), 100) is True and r.expire(k("none"), 100) is False, "expire")
    expect(r.pexpire(k("e2"), 200000) is True and r.pttl(k("e2")) > 190000, "pexpire")
    expect(r.expireat(k("e2"), int(time.time()) + 300) is True and 290 < r.ttl(k("e2")) <= 300, "expireat")
    expect(r.persist(k("e2")) is True and r.ttl(k("e2")) == -1, "persist")
    expect(r.ttl(k("none")) == -2, "ttl missing")


def getdel_getex():
    r.set(k("g"), "z")
    expect(r.getex(k("g"), ex=300) == "z" and r.ttl(k("g")) > 290, "getex ex")
    expect(r.getex(k("g"), persist=True) == "z" and r.ttl(k("g")) == -1, "getex persist")
    expect(r.getdel(k("g")) == "z" and r.get(k("g")) is None, "getdel")
    expect(r.setnx(k("sn"), "x") is True and r.setnx(k("sn"), "y") is False, "setnx")


def counters():
    expect(r.incr(k("n")) == 1 and r.incrby(k("n"), 10) == 11, "incr")
    expect(r.decr(k("n")) == 10 and r.decrby(k("n"), 20) == -10, "decr")
    expect(r.incrbyfloat(k("f"), 2.5) == 2.5, "incrbyfloat")
    r.set(k("t"), "1", ex=100)
    expect(r.incr(k("t")) == 2 and r.ttl(k("t")) > 90, "incr keeps the ttl")
    expect(r.append(k("ap"), "hello") == 5 and r.append(k("ap"), " world") == 11, "append")
    expect(r.strlen(k("ap")) == 11 and r.getrange(k("ap"), -5, -1) == "world", "strlen/getrange")
    expect(r.getset(k("ap"), "x") == "hello world" and r.get(k("ap")) == "x", "getset")


def multi_key():
    keys = [k(f"m{i}") for i in range(40)]
    expect(r.mset({key: f"v{i}" for i, key in enumerate(keys)}) is True, "mset")
    expect(r.mget(keys + [k("none")]) == [f"v{i}" for i in range(40)] + [None], "mget")
    expect(r.exists(keys[0], keys[1], keys[0], k("none")) == 3, "exists counts repeats")
    expect(r.delete(keys[0], k("none")) == 1, "del")
    expect(r.unlink(keys[1], keys[2]) == 2, "unlink")
    expect(r.type(keys[3]) == "string" and r.type(k("none")) == "none", "type")
    expect(sorted(r.keys(f"py:{run}:m1*")) == sorted(k(f"m{i}") for i in range(10, 20)), "keys (m1 was unlinked above)")
    expect(r.touch(keys[3], keys[4], k("none")) == 2, "touch")
    expect(r.rename(keys[3], k("renamed")) is True and r.get(k("renamed")) == "v3" and r.exists(keys[3]) == 0, "rename")
    expect(r.renamenx(k("renamed"), keys[4]) is False and r.renamenx(k("renamed"), keys[3]) is True, "renamenx")


def binary():
    value = bytes(range(256))
    key = k("bin\r\n\0").encode()
    rb.set(key, value)
    expect(rb.get(key) == value, "binary round trip")
    rb.set(k("big"), b"x" * (1 << 20))
    expect(len(rb.get(k("big"))) == 1 << 20, "1 MB value")
    r.set(k("empty"), "")
    expect(r.get(k("empty")) == "", "empty value")


def scan():
    want = {k(f"s:{i}") for i in range(250)}
    p = r.pipeline(transaction=False)
    for key in want:
        p.set(key, "1")
    p.execute()
    seen = list(r.scan_iter(match=f"py:{run}:s:*", count=60))
    expect(len(seen) == len(want) and set(seen) == want, f"scan saw {len(seen)} of {len(want)}")


def pipeline():
    p = r.pipeline(transaction=False)
    for i in range(1000):
        p.set(k(f"p{i}"), str(i))
    for i in range(1000):
        p.get(k(f"p{i}"))
    res = p.execute()
    expect(res[:1000] == [True] * 1000 and res[1000:] == [str(i) for i in range(1000)], "pipeline replies")


def transaction_refused():
    p = r.pipeline()  # redis-py's default pipeline is a MULTI/EXEC transaction
    p.set(k("tx"), "1")
    p.set(k("tx2"), "1")
    try:
        p.execute()
        raise AssertionError("a transaction was accepted")
    except redis.exceptions.ResponseError:
        pass
    expect(r.get(k("tx")) is None and r.get(k("tx2")) is None, "nothing of the refused transaction applied")
    expect(r.ping() is True, "connection still serves")


def server():
    expect(r.ping() is True, "ping")
    expect(r.echo("hé") == "hé", "echo")
    expect(r.dbsize() > 0, "dbsize")
    info = r.info()
    expect("redis_version" in info and "connected_clients" in info, "info fields")
    expect("engine" in r.info("engine") or any(key.startswith("engine_") for key in r.info("engine")), "info engine")
    expect("maxmemory" in r.config_get("maxmemory"), "config get")
    expect(r.client_setname("interop-py") is True and r.client_getname() == "interop-py", "client name")
    expect(r.client_id() > 0, "client id")
    expect(any(c.get("name") == "interop-py" for c in r.client_list()), "client list")
    expect(r.client_info().get("name") == "interop-py", "client info")
    expect(r.command_count() > 30, "command count")
    expect(r.select(0) is True, "select 0")


def errors():
    for cmd, pattern in [(("NOSUCH", "a"), "unknown command"), (("GET",), "wrong number of arguments"),
                         (("SET", k("x"), "v", "EX", "-5"), "invalid expire time"),
                         (("EXPIRE", k("x"), "abc"), "not an integer"), (("SET", k("x"), "v", "NX", "XX"), "syntax error"),
                         (("SELECT", "1"), "out of range")]:
        try:
            r.execute_command(*cmd)
            raise AssertionError(f"{cmd[0]} accepted")
        except redis.exceptions.ResponseError as e:
            expect(pattern in str(e), f"{cmd[0]}: {e}")


def concurrent():
    import threading
    errs = []

    def worker(j):
        c = redis.Redis(host="127.0.0.1", port=port, password=password, decode_responses=True)
        try:
            for i in range(50):
                c.set(k(f"cc{j}:{i}"), f"{j}:{i}")
                if c.get(k(f"cc{j}:{i}")) != f"{j}:{i}":
                    errs.append((j, i))
        except Exception as e:  # reported below
            errs.append(e)
        finally:
            c.close()

    threads = [threading.Thread(target=worker, args=(j,)) for j in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expect(not errs, f"concurrent clients: {errs[:3]}")


for name, fn in [("set/get", set_get), ("set options", set_options), ("expiry", expiry), ("getdel/getex/setnx", getdel_getex),
                 ("counters and appends", counters), ("multi-key", multi_key), ("binary", binary), ("scan_iter", scan), ("pipeline", pipeline),
                 ("transaction refused", transaction_refused), ("server commands", server), ("errors", errors),
                 ("concurrent clients", concurrent)]:
    check(name, fn)
print(f"{checks} checks passed, {failures} failed (redis-py {redis.__version__}, port {port}{', with a password' if password else ''})")
sys.exit(1 if failures else 0)
