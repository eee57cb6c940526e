#!/usr/bin/env python3
# summarize.py OUTDIR...: per design (an output folder of rejudge.sh), A/A alarms, burner verdicts and per layer the
# replicates where the gate failed on the layer's cells (det) or had a verdict on cells the layer did not slow (other).
import sys, glob, re, collections
layers = {'slow-ring': r'RingCycle|RingRoundTrip|BlkBenchmark', 'slow-swiotlb': r'DmaMapBenchmark|dma=swiotlb',
          'slow-iommu': r'Iommu', 'slow-blk': r'BlkBenchmark'}

def candidate(f):
    """The candidate a verdicts file of rejudge.sh judged: aa, burn or slow-LAYER."""
    return re.match(r'.*-(?:rep|burn)-\d\d-(.*)\.tsv', f).group(1)

def rows(f):
    """A verdicts file's rows (verdict, benchmark, mode, ratio, ci_low, ci_high, p_holm), header included."""
    return [l.rstrip('\n').split('\t') for l in open(f)]

def tally(cnt, n, c, verdicts):
    """Counts one candidate's verdicts (rows without the header) into cnt and n."""
    n[c] += 1
    reg = [r for r in verdicts if r[0] == 'regressed']; imp = [r for r in verdicts if r[0] == 'improved']
    if c in ('aa', 'burn'):
        cnt[c + ' alarm'] += bool(reg); cnt[c + ' improved'] += bool(imp)
    else:
        rx = re.compile(layers[c])
        cnt[c + ' det'] += any(rx.search(r[1]) for r in reg)
        cnt[c + ' other'] += any(not rx.search(r[1]) for r in reg + imp)

def line(cnt, n):
    return ' '.join(f'{k}={v}/{n[k.split()[0]]}' for k, v in sorted(cnt.items()))

if __name__ == '__main__':
    for d in sys.argv[1:]:
        for t in ['2fork', 'full']:
            cnt = collections.Counter(); n = collections.Counter()
            for f in sorted(glob.glob(f'{d}/{t}-*.tsv')):
                tally(cnt, n, candidate(f), rows(f)[1:])
            print(d, t, line(cnt, n))
