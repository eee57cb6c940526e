#!/usr/bin/env python3
# summarize.py OUTDIR...: per design (an output folder of rejudge.sh), A/A alarms, burner verdicts and per layer the
# replicates where the gate failed on the layer's cells (det) or had a verdict on cells the layer did not slow (other).
import sys, glob, re, os, collections
layers = {'slow-ring': r'RingCycle|RingRoundTrip|BlkBenchmark', 'slow-swiotlb': r'DmaMapBenchmark|dma=swiotlb',
          'slow-iommu': r'Iommu', 'slow-blk': r'BlkBenchmark'}
for d in sys.argv[1:]:
    for t in ['2fork', 'full']:
        cnt = collections.Counter(); n = collections.Counter()
        for f in sorted(glob.glob(f'{d}/{t}-*.tsv')):
            c = re.match(r'.*-(?:rep|burn)-\d\d-(.*)\.tsv', f).group(1)
            rows = [l.rstrip('\n').split('\t') for l in open(f)][1:]
            n[c] += 1
            reg = [r for r in rows if r[0] == 'regressed']; imp = [r for r in rows if r[0] == 'improved']
            if c in ('aa', 'burn'):
                cnt[c + ' alarm'] += bool(reg); cnt[c + ' improved'] += bool(imp)
            else:
                rx = re.compile(layers[c])
                cnt[c + ' det'] += any(rx.search(r[1]) for r in reg)
                cnt[c + ' other'] += any(not rx.search(r[1]) for r in reg + imp)
        print(d, t, ' '.join(f'{k}={v}/{n[k.split()[0]]}' for k, v in sorted(cnt.items())))
