"""Summarise a JSC heap snapshot (from heap-preload.ts): for the classes with the most
instances, who points at them (referrer class + edge name), to see what a connection retains.
  python3 bench/profile/heap-analyze.py /tmp/ws-emit-heap.json [Class ...]"""
import json, sys, collections
s = json.load(open(sys.argv[1]))
N = s['nodes']; E = s['edges']; cls = s['nodeClassNames']; en = s['edgeNames']; et = s['edgeTypes']
W = 4 if len(N) % 7 else 7
# v3 nodes: id, size, classIndex, flags
nodes = {}
for i in range(0, len(N), 4):
    nodes[N[i]] = (N[i+1], cls[N[i+2]])
byclass = collections.Counter(c for _, c in nodes.values())
size = collections.Counter()
for sz, c in nodes.values(): size[c] += sz
print("top by count:", byclass.most_common(15))
print("top by size:", size.most_common(15))
inbound = collections.defaultdict(list)
for i in range(0, len(E), 4):
    inbound[E[i+1]].append((E[i], et[E[i+2]], E[i+3]))
targets = sys.argv[2:] or ['JSLexicalEnvironment', 'string', 'Object', 'Cell Butterfly', 'Function', 'Set', 'Map']
for t in targets:
    c = collections.Counter()
    for nid, (sz, k) in nodes.items():
        if k != t: continue
        for frm, typ, data in inbound[nid][:3]:
            name = en[data] if typ in ('Property', 'Variable') else typ
            c[(nodes.get(frm, (0, '?'))[1], name)] += 1
    print(t, c.most_common(12))
