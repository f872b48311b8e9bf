const fs=require('fs');const dir=process.argv[2];const f=fs.readdirSync(dir).sort().pop();const p=JSON.parse(fs.readFileSync(dir+'/'+f));
const self=new Map();const byId=new Map(p.nodes.map(n=>[n.id,n]));
const counts=new Map();for(const s of p.samples)counts.set(s,(counts.get(s)||0)+1);
for(const [id,c] of counts){const n=byId.get(id);const k=n.callFrame.functionName+' '+n.callFrame.url.split('/').slice(-2).join('/')+':'+n.callFrame.lineNumber;self.set(k,(self.get(k)||0)+c)}
const tot=p.samples.length;[...self].sort((a,b)=>b[1]-a[1]).slice(0,+process.argv[3]||25).forEach(([k,c])=>console.log((100*c/tot).toFixed(1)+'%',k))
