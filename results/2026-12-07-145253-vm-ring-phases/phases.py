import glob,json,collections,statistics as st
# phase by the innermost matching frame among these (ordered inner to outer)
def phase(frames):
    names=[f.split('/')[-1] for f in frames]
    def has(*ks): return any(n.endswith(k) for n in names for k in ks)
    if has('DeviceView.translate'): return 'device translate (DeviceView)'
    if has('VhostVirtqueue.walk'): return 'device walk + checks'
    if has('VhostVirtqueue.addUsed'): return 'device used element + used.idx'
    if has('VhostVirtqueue.pop'): return 'device pop (avail ring)'
    if has('Virtqueue.getBuf'): return 'driver getBuf'
    if has('Virtqueue.add','Virtqueue.addDirect'): return 'driver add'
    if has('RingCycleBenchmark.batch'): return 'benchmark loop, other'
    return None
import sys, os
os.chdir(sys.argv[1] if len(sys.argv) > 1 else ".")
for shape in ['single128','chain128']:
    for side in ['base','cand']:
        c=collections.Counter(); scores=[]
        for fork in sorted(glob.glob(f'{side}/fork0*')):
            for r in json.load(open(f'{fork}/jmh.json')):
                if r['params']['shape']==shape: scores.append(min(min(x) for x in r['primaryMetric']['rawData']))
            for f in glob.glob(f'{fork}/*{shape}*/collapsed-itimer.csv'):
                for line in open(f):
                    s,n=line.rsplit(' ',1)
                    p=phase(s.split(';'))
                    if p: c[p]+=int(n)
        tot=sum(c.values()); ns=st.median(scores)
        print(f'{shape} {side}: {tot} samples, median fork best {ns:.0f} ns/batch, forks {[round(x) for x in scores]}')
        for k in ['driver add','device pop (avail ring)','device walk + checks','device translate (DeviceView)','device used element + used.idx','driver getBuf','benchmark loop, other']:
            print(f'   {k:34s} {100*c[k]/tot:5.1f}%  {ns*c[k]/tot:6.0f} ns')
