#!/usr/bin/env python3
# Counts detections and alarms per design: summarize.py OUTDIR... (the output folders of emu.py).
import json, sys, re
layers = {'slow-ring': r'RingCycle|RingRoundTrip|BlkBenchmark', 'slow-swiotlb': r'DmaMapBenchmark|dma=swiotlb',
          'slow-iommu': r'Iommu', 'slow-blk': r'BlkBenchmark'}
for d in sys.argv[1:]:
    res = json.load(open(d + '/res.json')); out = []
    for c in ['aa', 'slow-ring', 'slow-swiotlb', 'slow-iommu', 'slow-blk']:
        det = fa = n = 0
        for k, (rc, v) in res.items():
            if not k.endswith('-' + c): continue
            n += 1
            rows = [r for r in v[1:] if r[0] not in ('reference', 'inconclusive', 'unchanged', 'same', 'ok') ]
            verdicts = [(r[0], r[1] + r[2]) for r in v[1:] if r[0] in ('regressed', 'improved')]
            if c == 'aa':
                fa += bool(verdicts)
            else:
                rx = re.compile(layers[c])
                own = [x for x in v[1:] if x[0] == 'regressed' and rx.search(x[1] + ' ' + x[2])]
                det += bool(own)
                fa += any(not rx.search(x[1] + ' ' + x[2]) for x in v[1:] if x[0] in ('regressed', 'improved'))
        out.append(f"{c}: det {det}/{n} fa {fa}" if c != 'aa' else f"aa alarms {fa}/{n}")
    print(d, ' | '.join(out))
