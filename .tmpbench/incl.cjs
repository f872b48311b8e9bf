const fs=require('fs');const dir=process.argv[2];const f=fs.readdirSync(dir).sort().pop();const p=JSON.parse(fs.readFileSync(dir+'/'+f));
const byId=new Map(p.nodes.map(n=>[n.id,n]));const parent=new Map();for(const n of p.nodes)for(const c of (n.children||[]))parent.set(c,n.id);
const counts=new Map();for(const s of p.samples)counts.set(s,(counts.get(s)||0)+1);
const incl=new Map();const tot=p.samples.length;
for(const [id,c] of counts){const seen=new Set();let cur=id;while(cur!==undefined){const n=byId.get(cur);const k=n.callFrame.functionName+' '+n.callFrame.url.split('/').slice(-2).join('/')+':'+n.callFrame.lineNumber;if(!seen.has(k)){seen.add(k);incl.set(k,(incl.get(k)||0)+c)}cur=parent.get(cur)}}
const re=new RegExp(process.argv[3]||'.');[...incl].filter(([k])=>re.test(k)).sort((a,b)=>b[1]-a[1]).slice(0,40).forEach(([k,c])=>console.log((100*c/tot).toFixed(2)+'%',k))
