#!/usr/bin/env python3
# Emulates other designs of the gate on this self-test's recorded replicates (docs/gate.md, "Where the SWIOTLB
# slowdown's power is lost"): every replicate's candidates (aa, slow-LAYER) are cut to their first NF forks and each
# fork to its first K measured iterations (the baseline's forks too, all 16 of them), the forks of the cells whose key
# matches POOLREGEX ('-': none) are pooled with those of a partner replicate (1+2, 2+3, 3+4, 4+1, 5+6, 6+7, 7+8, 8+5),
# and each candidate is judged against the baseline by the gate (gate/gate.conf) as scripts/gate compare would.
#
#   emu.py K POOLREGEX OUTDIR [NF]       e.g. emu.py 10 'DmaMapBenchmark|dma=swiotlb|memcpyCold' /tmp/k10d7 7
#
# Needs the replicates extracted (rep-NN/ from rep-NN-rounds.tar.xz, then scripts/gate-selftest --evaluate-only to
# merge them), baseline/jmh.json (a copy of results/baseline/gate.json of that day: git show 77d4d64:results/baseline/gate.json)
# and gate/target/gate.jar. Prints one line per candidate (replicate, candidate, gate exit) and writes OUTDIR/res.json.
import json, sys, re, os, copy, subprocess
K = int(sys.argv[1]); NF = int(sys.argv[4]) if len(sys.argv) > 4 else 99; pool = re.compile(sys.argv[2]) if sys.argv[2] != '-' else None; out = sys.argv[3]
S = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOME = os.path.dirname(os.path.dirname(S))
os.makedirs(out, exist_ok=True)
def trunc(d):
    d = copy.deepcopy(d)
    for r in d:
        ms = [r['primaryMetric']] + list(r.get('secondaryMetrics', {}).values())
        for m in ms:
            if 'rawData' in m: m['rawData'] = [f[:K] for f in m['rawData']][:NF]
            m.pop('rawDataHistogram', None)
    return d
def key(r): return r['benchmark'] + json.dumps(r.get('params', {}), sort_keys=True)
def poolwith(a, b):
    a = copy.deepcopy(a); bm = {key(r): r for r in b}
    for r in a:
        k = key(r)
        if pool and pool.search(k) and k in bm:
            o = bm[k]
            r['primaryMetric']['rawData'] += o['primaryMetric']['rawData']
            for n, m in r.get('secondaryMetrics', {}).items():
                if 'rawData' in m and n in o['secondaryMetrics']:
                    m['rawData'] += o['secondaryMetrics'][n]['rawData']
    return a
NF0 = NF; NF = 99
base = trunc(json.load(open(S + '/baseline/jmh.json')))
json.dump(base, open(out + '/base.json', 'w')); NF = NF0
partner = {1:2,2:3,3:4,4:1,5:6,6:7,7:8,8:5}
res = {}
for i in range(1, 9):
    for c in ['aa', 'slow-ring', 'slow-swiotlb', 'slow-iommu', 'slow-blk']:
        a = trunc(json.load(open(f'{S}/rep-{i:02d}/{c}.json')))
        b = trunc(json.load(open(f'{S}/rep-{partner[i]:02d}/{c}.json')))
        cand = poolwith(a, b)
        f = f'{out}/r{i}-{c}.json'; json.dump(cand, open(f, 'w'))
        p = subprocess.run(['java', '-jar', HOME + '/gate/target/gate.jar', 'compare', out + '/base.json', f,
                            '--config', HOME + '/gate/gate.conf', '--verdicts', f'{out}/r{i}-{c}.tsv'],
                           capture_output=True, text=True)
        v = [l.split('\t') for l in open(f'{out}/r{i}-{c}.tsv').read().splitlines()]
        res[(i, c)] = (p.returncode, v)
        print(i, c, p.returncode, flush=True)
json.dump({f'{k[0]}-{k[1]}': v for k, v in res.items()}, open(out + '/res.json', 'w'))
