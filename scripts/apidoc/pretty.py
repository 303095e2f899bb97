import json, sys
items = int(sys.argv[1])
text = sys.stdin.read()
try:
    doc = json.loads(text)
except Exception:
    print(text); sys.exit()
if isinstance(doc, dict) and "items" in doc and len(doc["items"]) > items:
    more = len(doc["items"]) - items
    doc["items"] = doc["items"][:items] + [f"... {more} more (trimmed)"]
def fmt(v, depth=0, used=0):
    compact = json.dumps(v, ensure_ascii=False)
    if not isinstance(v, (dict, list)) or not v or used + len(compact) <= 100:
        return compact
    pad = "  " * (depth + 1)
    if isinstance(v, dict):
        inner = []
        for k, x in v.items():
            head = f"{pad}{json.dumps(k)}: "
            inner.append(head + fmt(x, depth + 1, len(head)))
        return "{\n" + ",\n".join(inner) + "\n" + "  " * depth + "}"
    inner = [pad + fmt(x, depth + 1, len(pad)) for x in v]
    return "[\n" + ",\n".join(inner) + "\n" + "  " * depth + "]"
print(fmt(doc))
