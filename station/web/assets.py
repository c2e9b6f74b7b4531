"""The page's only style sheet and script, sent inline with every page (no external assets: the forest has
no internet). High contrast and large touch targets for a phone in sunlight; the script only polls while
the page is visible, so a phone in a pocket costs the station nothing."""

from __future__ import annotations

CSS = """
*{box-sizing:border-box}
html{font:18px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans CJK SC",
"WenQuanYi Micro Hei","Microsoft YaHei",sans-serif;color:#000;background:#fff}
body{margin:0 auto;max-width:42rem}
header{display:flex;flex-wrap:wrap;justify-content:space-between;align-items:center;gap:.3rem;
padding:.4rem .6rem;background:#000;color:#fff}
header b{font-size:1.1rem}
header a{color:#fff;padding:.45rem .6rem;font-weight:700;text-decoration:none;border:2px solid #fff;
border-radius:.3rem;margin-left:.2rem}
header a.on{background:#ffd400;color:#000;border-color:#ffd400}
nav.tabs{display:flex;flex-wrap:wrap}
nav.tabs a{flex:1 1 auto;min-width:30%;padding:.8rem .4rem;text-align:center;color:#000;font-weight:700;
text-decoration:none;border:2px solid #000;margin:-1px 0 0 -1px}
nav.tabs a.on{background:#000;color:#fff}
main{padding:.6rem .75rem}
h1{font-size:1.45rem;margin:.4rem 0 .6rem}
h2{font-size:1.15rem;margin:0 0 .4rem}
.card{border:2px solid #000;border-radius:.4rem;padding:.6rem .75rem;margin:0 0 .7rem}
dl{display:grid;grid-template-columns:auto 1fr;gap:.25rem .8rem;margin:0}
dd{margin:0;font-weight:700;text-align:right;overflow-wrap:anywhere}
dd.wide{grid-column:1/-1}
.nw{white-space:nowrap}
.bad{background:#b00000;color:#fff;padding:0 .35rem;border-radius:.2rem}
.good{background:#006b1f;color:#fff;padding:0 .35rem;border-radius:.2rem}
button{font:inherit;font-weight:700;min-height:3rem;padding:.55rem 1rem;border:3px solid #000;
background:#ffd400;color:#000;border-radius:.4rem;width:100%;margin:.3rem 0;cursor:pointer}
button.plain{background:#fff}
button.danger{background:#b00000;color:#fff}
input,select,textarea{font:inherit;width:100%;padding:.55rem;border:2px solid #000;border-radius:.3rem;
background:#fff;color:#000}
label{display:block;margin:.55rem 0 .15rem;font-weight:700}
.row{display:grid;grid-template-columns:1fr 1fr;gap:0 .6rem}
img.shot{width:100%;height:auto;display:block;border:2px solid #000;background:#444;min-height:4rem}
.msg{border-left:.5rem solid #000;padding:.5rem .75rem;background:#eee;font-weight:700;margin:0 0 .7rem}
.msg.error{border-color:#b00000;background:#ffe3e3}
.flash{position:fixed;top:0;left:0;right:0;padding:1rem;text-align:center;font-size:2.2rem;font-weight:900;
background:#ffd400;color:#000;border-bottom:5px solid #000;z-index:9}
.count{font-size:3rem;font-weight:900;line-height:1}
.aim{position:relative}
.aim::after{content:"";position:absolute;inset:2px;pointer-events:none;
background:linear-gradient(#fff8,#fff8) 33.3% 0/2px 100% no-repeat,
linear-gradient(#fff8,#fff8) 66.6% 0/2px 100% no-repeat,linear-gradient(#fff8,#fff8) 0 33.3%/100% 2px no-repeat,
linear-gradient(#fff8,#fff8) 0 66.6%/100% 2px no-repeat}
.seq{display:grid;grid-template-columns:8rem 1fr;gap:.6rem;align-items:start}
.seq p{margin:0 0 .25rem}
.wrong{text-decoration:line-through}
small{font-size:.85rem}
footer{padding:.6rem .75rem;border-top:2px solid #000;font-size:.9rem}
[hidden]{display:none!important}
"""

JS = """
const $=s=>document.querySelector(s);
const page=document.body.dataset.page;
function every(ms,fn){let busy=false;const run=async()=>{if(document.hidden||busy)return;busy=true;
try{await fn()}catch(e){}finally{busy=false}};setInterval(run,ms);run()}
async function get(url){const r=await fetch(url,{cache:'no-store',credentials:'same-origin'});
if(r.status===401){location.reload();throw new Error('logged out')}return r}
function walk(){const list=$('#frames'),count=$('#count'),flash=$('#motion'),wait=$('#waiting');
let after=list.dataset.after;const base=+list.dataset.base;
every(1000,async()=>{const d=await(await get('/api/walk?after='+encodeURIComponent(after))).json();
const n=Math.max(0,d.triggers-base);if(n>+count.textContent){flash.hidden=false;
setTimeout(()=>{flash.hidden=true},1500)}count.textContent=n;
for(const f of d.frames){after=f.media_id;const fig=document.createElement('figure');fig.className='card';
fig.dataset.mediaId=f.media_id;const img=new Image();img.className='shot';img.alt='';img.src=f.thumb;
const cap=document.createElement('figcaption');cap.textContent=f.caption;fig.append(img,cap);list.prepend(fig)}
if(list.children.length)wait.hidden=true})}
function aim(){const img=$('#preview'),busy=$('#busy');let url=null;
every(800,async()=>{const r=await get('/api/preview.jpg');if(r.status!==200){busy.hidden=false;return}
const next=URL.createObjectURL(await r.blob());img.src=next;busy.hidden=true;if(url)URL.revokeObjectURL(url);url=next})}
function gps(){const b=$('#gps'),msg=$('#gpsmsg');if(!b)return;b.addEventListener('click',()=>{
if(!window.isSecureContext||!navigator.geolocation){msg.textContent=b.dataset.insecure;return}
msg.textContent=b.dataset.wait;navigator.geolocation.getCurrentPosition(p=>{
$('#latitude').value=p.coords.latitude.toFixed(6);$('#longitude').value=p.coords.longitude.toFixed(6);
const m=Math.max(1,Math.round(p.coords.accuracy||1));$('#accuracy').value=m;
msg.textContent=b.dataset.ok.replace('{m}',m)},e=>{msg.textContent=b.dataset.failed.replace('{error}',e.message)},
{enableHighAccuracy:true,timeout:30000,maximumAge:0})})}
function clock(){const c=$('#clock');if(!c)return;const diff=Math.round((Date.now()-(+c.dataset.unixMs))/1000);
c.textContent=Math.abs(diff)<=5?c.dataset.ok:c.dataset.diff.replace('{s}',(diff>0?'+':'')+diff);
if(Math.abs(diff)>5)c.className='bad';setInterval(()=>{if(!document.hidden)location.reload()},15000)}
for(const f of document.querySelectorAll('form[data-confirm]'))
f.addEventListener('submit',e=>{if(!confirm(f.dataset.confirm))e.preventDefault()});
if(page==='walk')walk();if(page==='aim')aim();if(page==='deployment')gps();if(page==='status')clock();
"""
