"""A real Python workload for the preload tests: JSON round-trips, an
in-memory sqlite3 database, threads, regular expressions, hashing and a lot of
small-object churn. Its output is deterministic (no time, no addresses, no
set/dict iteration over hashed strings without sorting), so any difference
between runs under different allocators is a behaviour change."""

import hashlib
import json
import queue
import random
import re
import sqlite3
import sys
import threading
import zlib


def json_roundtrips(rng):
    docs = []
    for i in range(2000):
        doc = {
            "id": i,
            "name": "item-%05d" % i,
            "tags": ["t%d" % rng.randrange(50) for _ in range(rng.randrange(1, 8))],
            "price": round(rng.uniform(0, 1000), 2),
            "nested": {"depth": [{"k": j, "v": "x" * (j % 17)} for j in range(rng.randrange(0, 12))]},
            "unicode": "ĉu ŝi — 東京 %d" % i,
        }
        docs.append(doc)
    blob = json.dumps(docs, sort_keys=True, ensure_ascii=False)
    for _ in range(5):
        blob = json.dumps(json.loads(blob), sort_keys=True, ensure_ascii=False)
    back = json.loads(blob)
    assert back == docs
    print("json", len(back), len(blob), hashlib.sha256(blob.encode()).hexdigest())


def sqlite_workload(rng):
    db = sqlite3.connect(":memory:")
    db.execute("create table orders(id integer primary key, customer text, amount real, note text)")
    db.execute("create index by_customer on orders(customer)")
    rows = [(i, "cust-%03d" % rng.randrange(300), round(rng.uniform(1, 500), 2), "n" * rng.randrange(0, 200))
            for i in range(30000)]
    db.executemany("insert into orders values (?, ?, ?, ?)", rows)
    db.commit()
    top = db.execute("select customer, count(*), round(sum(amount), 2) from orders "
                     "group by customer order by sum(amount) desc, customer limit 5").fetchall()
    print("sqlite top", top)
    db.execute("update orders set amount = amount * 1.1 where id % 7 = 0")
    db.execute("delete from orders where length(note) > 150")
    n, total = db.execute("select count(*), round(sum(amount), 2) from orders").fetchone()
    print("sqlite after", n, total)
    joined = db.execute("select a.customer, count(*) from orders a join orders b "
                        "on a.customer = b.customer and a.id < b.id where a.customer < 'cust-010' "
                        "group by a.customer order by a.customer").fetchall()
    print("sqlite join", joined)
    db.close()


def thread_workload():
    # Each worker hashes and compresses its own blocks and hands results back
    # through a queue: allocations and frees happen on several threads at once.
    work = queue.Queue()
    results = {}
    lock = threading.Lock()

    def worker():
        while True:
            item = work.get()
            if item is None:
                return
            data = b"".join(hashlib.sha256(b"%d:%d" % (item, k)).digest() for k in range(400))
            packed = zlib.compress(data * 3, 6)
            words = re.findall(rb"[a-z]{2,}", zlib.decompress(packed))
            with lock:
                results[item] = (hashlib.md5(packed).hexdigest(), len(words))

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for i in range(600):
        work.put(i)
    for _ in threads:
        work.put(None)
    for t in threads:
        t.join()
    digest = hashlib.sha256(json.dumps(sorted(results.items())).encode()).hexdigest()
    print("threads", len(results), digest)


def churn(rng):
    # Many short-lived small objects of mixed sizes, then a big sort.
    live = [None] * 5000
    total = 0
    for i in range(300000):
        slot = rng.randrange(len(live))
        live[slot] = ("s" * rng.randrange(1, 300), [i] * rng.randrange(0, 10), {"k": i})
        total += len(live[slot][0])
    words = sorted("".join(rng.choice("abcdefgh") for _ in range(rng.randrange(1, 12))) for _ in range(50000))
    print("churn", total, len(set(words)), words[:3], words[-3:])


def main():
    rng = random.Random(1234)
    json_roundtrips(rng)
    sqlite_workload(rng)
    thread_workload()
    churn(rng)
    print("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
