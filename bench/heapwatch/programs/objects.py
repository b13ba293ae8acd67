# Object churn: short-lived dicts, lists, tuples and strings, most of them
# freed as soon as made, a fraction kept in a bounded window (a cache's life).
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
window = []
total = 0
for i in range(n):
    rec = {"id": i, "name": "item-%d" % i, "tags": [str(i % 7), str(i % 11)], "pos": (i, i * 2)}
    total += len(rec["name"]) + len(rec["tags"])
    if i % 5 == 0:
        window.append(rec)
        if len(window) > 5000:
            del window[:1000]
print(total, len(window))
