const fs=require('fs')
function load(dir){const f=fs.readdirSync(dir).sort().pop();const p=JSON.parse(fs.readFileSync(dir+'/'+f));const byId=new Map(p.nodes.map(n=>[n.id,n]));const self=new Map();
for(let i=0;i<p.samples.length;i++){const n=byId.get(p.samples[i]);const k=n.callFrame.functionName+' '+n.callFrame.url.split('/').slice(-2).join('/')+':'+n.callFrame.lineNumber;self.set(k,(self.get(k)||0)+(p.timeDeltas[i]||0))}return self}
const a=load('p_off'),b=load('p_on');const N=65000;const keys=new Set([...a.keys(),...b.keys()]);const rows=[];let ta=0,tb=0
for(const k of keys){if(k.startsWith('(idle)'))continue;const x=(a.get(k)||0)/N,y=(b.get(k)||0)/N;ta+=x;tb+=y;rows.push([k,x,y,y-x])}
console.log('total µs/req off',ta.toFixed(1),'on',tb.toFixed(1));rows.sort((p,q)=>q[3]-p[3]).slice(0,30).forEach(r=>console.log(r[3].toFixed(2).padStart(6),r[1].toFixed(2).padStart(6),r[2].toFixed(2).padStart(6),r[0]))
