#!/usr/bin/env python3
# combine.py BASE OTHER replace|and: the SWIOTLB-bound cells judged by OTHER's verdicts (replace) or only where BASE and
# OTHER agree (and), every other cell by BASE's; BASE and OTHER are output folders of rejudge.sh.
import sys, os, glob, re, collections
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from summarize import candidate, rows, tally, line
copy = re.compile(r'DmaMapBenchmark.*ops=swiotlb|BlkBenchmark.*dma=swiotlb')
base, other, mode = sys.argv[1:4]
for t in ['2fork', 'full']:
    cnt = collections.Counter(); n = collections.Counter()
    for f in sorted(glob.glob(f'{base}/{t}-*.tsv')):
        B = {r[1]: r for r in rows(f.replace(base + '/', other + '/'))}
        verdicts = []
        for r in rows(f)[1:]:
            if copy.search(r[1]):
                if mode == 'replace': r = B[r[1]]
                elif mode == 'and' and B[r[1]][0] != r[0]: r = ['inconclusive'] + r[1:]
            verdicts.append(r)
        tally(cnt, n, candidate(f), verdicts)
    print(other, mode, t, line(cnt, n))
