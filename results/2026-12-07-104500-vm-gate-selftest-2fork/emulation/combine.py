#!/usr/bin/env python3
# combine.py BASE OTHER replace|and: the SWIOTLB-bound cells judged by OTHER's verdicts (replace) or only where BASE and
# OTHER agree (and), every other cell by BASE's; BASE and OTHER are output folders of rejudge.sh.
import sys, glob, re, os, collections
layers = {'slow-ring': r'RingCycle|RingRoundTrip|BlkBenchmark', 'slow-swiotlb': r'DmaMapBenchmark|dma=swiotlb',
          'slow-iommu': r'Iommu', 'slow-blk': r'BlkBenchmark'}
copy = re.compile(r'DmaMapBenchmark.*ops=swiotlb|BlkBenchmark.*dma=swiotlb')
base, other, mode = sys.argv[1:4]
for t in ['2fork', 'full']:
    cnt = collections.Counter(); n = collections.Counter(); det = collections.defaultdict(list)
    for f in sorted(glob.glob(f'{base}/{t}-*.tsv')):
        c = re.match(r'.*-(?:rep|burn)-\d\d-(.*)\.tsv', f).group(1)
        A = {r[1]: r for r in (l.rstrip('\n').split('\t') for l in open(f))}
        B = {r[1]: r for r in (l.rstrip('\n').split('\t') for l in open(f.replace(base + '/', other + '/')))}
        rows = []
        for k, r in A.items():
            if k == 'benchmark': continue
            if copy.search(k):
                if mode == 'replace': r = B[k]
                elif mode == 'and' and B[k][0] != r[0]: r = ['inconclusive'] + r[1:]
            rows.append(r)
        n[c] += 1
        reg = [r for r in rows if r[0] == 'regressed']; imp = [r for r in rows if r[0] == 'improved']
        if c in ('aa', 'burn'):
            cnt[c + ' alarm'] += bool(reg); cnt[c + ' improved'] += bool(imp)
        else:
            rx = re.compile(layers[c])
            cnt[c + ' det'] += any(rx.search(r[1]) for r in reg)
            cnt[c + ' other'] += any(not rx.search(r[1]) for r in reg + imp)
    print(other, mode, t, ' '.join(f'{k}={v}/{n[k.split()[0]]}' for k, v in sorted(cnt.items())))
