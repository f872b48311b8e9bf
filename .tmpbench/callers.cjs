const fs=require('fs');const dir=process.argv[2];const f=fs.readdirSync(dir).sort().pop();const p=JSON.parse(fs.readFileSync(dir+'/'+f));
const byId=new Map(p.nodes.map(n=>[n.id,n]));const parent=new Map();for(const n of p.nodes)for(const c of (n.children||[]))parent.set(c,n.id);
const counts=new Map();for(const s of p.samples)counts.set(s,(counts.get(s)||0)+1);
const name=id=>{const n=byId.get(id);return n.callFrame.functionName+' '+n.callFrame.url.split('/').slice(-2).join('/')+':'+n.callFrame.lineNumber}
const agg=new Map();const tot=p.samples.length
for(const [id,c] of counts){if(!name(id).startsWith(process.argv[3]))continue;let chain=[];let cur=parent.get(id);for(let i=0;i<+process.argv[4]&&cur!==undefined;i++){chain.push(name(cur));cur=parent.get(cur)};const k=chain.join(' < ');agg.set(k,(agg.get(k)||0)+c)}
[...agg].sort((a,b)=>b[1]-a[1]).slice(0,8).forEach(([k,c])=>console.log((100*c/tot).toFixed(2)+'%',k))
