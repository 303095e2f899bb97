import re, os
import os
here=os.path.dirname(os.path.abspath(__file__))
work=os.environ.get('APIDOC_WORK','/tmp/patchdeck-apidoc')
t=open(os.path.join(here,'api.tmpl.md')).read()
def section(fname, name=None):
    text=open(os.path.join(work,fname)).read()
    if name is None: return text.rstrip("\n")
    parts=re.split(r'^## (\S+)\n', text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))[name].rstrip("\n")
def trim_sse(block):
    return "\n".join(l[:150]+"…" if l.startswith("data: ") and len(l)>150 else l for l in block.split("\n"))
def sub(m):
    spec=m.group(1); mode=None
    for p in ("raw:","sse:"):
        if spec.startswith(p): spec=spec[4:]; mode=p
    f,_,n=spec.partition("#")
    block=section(f, n or None)
    if mode=="sse:":
        block=trim_sse(block).replace("\n\n```","\n```")
    return block
out=re.sub(r'@@([^@]+)@@', sub, t)
import sys
sys.stdout.write(out)
