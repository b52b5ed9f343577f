#!/usr/bin/env python3
"""bench/parse-agree.py - field-by-field agreement of postroom's parse with
CPython's email package (policy=default), over the messages of
../shared/testdata/mime that python-email-view.json lists.

    parse-agree.py CORPUS OURS.tsv VERDICTS.md

OURS.tsv is what the bench driver printed: "path<TAB>json" per message
(or "path<TAB>UNREADABLE reason").  CPython parses the same files here,
live.  For every field we print how many messages agree, and then every
disagreement with its verdict from VERDICTS.md (a table: | file | field |
verdict | why |; verdicts: ours wrong, theirs wrong, both defensible).  A
disagreement with no verdict is listed as UNJUDGED; exit status 1 then,
so a new difference cannot slip by unread.

Comparisons normalise what is not a difference of meaning: whitespace runs
(folding), CR before LF, the case of an address's domain, and a naive date
(-0000) read as UTC.
"""
import email
import email.policy
import json
import os
import re
import sys
from collections import Counter

FIELDS = ["subject", "date", "message_id", "from", "to", "cc", "text_body", "html_body",
          "attachments"]


def squash(s):
    return " ".join((s or "").replace("\r", "").split())


def addr(a):
    a = (a or "").strip()
    at = a.rfind("@")
    return a[:at] + a[at:].lower() if at >= 0 else a


def py_addresses(msg, name, with_names=False):
    try:
        h = msg[name]
        if h is None:
            return []
        out = []
        for a in h.addresses:
            out.append((squash(a.display_name), addr(a.addr_spec)) if with_names else addr(a.addr_spec))
        return out
    except Exception:
        return None


def py_date(msg):
    try:
        h = msg["date"]
        dt = h.datetime if h is not None else None
    except Exception:
        return None
    if dt is None:
        return None
    off = dt.utcoffset()
    secs = int(off.total_seconds()) if off is not None else 0
    sign = "-" if secs < 0 else "+"
    secs = abs(secs)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + "%s%02d:%02d" % (sign, secs // 3600, secs % 3600 // 60)


def py_body(msg, kind):
    try:
        b = msg.get_body(preferencelist=(kind,))
        return squash(b.get_content()) if b is not None else None
    except Exception:
        return None


def py_attachments(msg):
    out = []
    for p in msg.walk():
        if p.is_multipart() or p.get_content_maintype() == "message":
            continue
        try:
            fn = p.get_filename()
        except Exception:
            fn = None
        if not fn:
            continue
        import hashlib
        data = p.get_payload(decode=True) or b""
        out.append("%s %s" % (squash(fn), hashlib.sha256(data).hexdigest()[:16]))
    return sorted(out)


def python_view(path):
    with open(path, "rb") as f:
        msg = email.message_from_bytes(f.read(), policy=email.policy.default)
    def header(name):
        try:
            v = msg[name]
            return None if v is None else squash(str(v))
        except Exception:
            return None
    mid = header("message-id")
    return {
        "subject": header("subject"),
        "date": py_date(msg),
        "message_id": mid.strip("<>") if mid else None,
        "from": py_addresses(msg, "from", True),
        "to": py_addresses(msg, "to"),
        "cc": py_addresses(msg, "cc"),
        "text_body": py_body(msg, "plain"),
        "html_body": py_body(msg, "html"),
        "attachments": py_attachments(msg),
    }


def our_view(j):
    def lst(key, with_names=False):
        return [(squash(a["name"]), addr(a["address"])) if with_names else addr(a["address"])
                for a in j.get(key, [])]
    return {
        "subject": squash(j["subject"]) if j.get("subject") is not None else None,
        "date": j.get("date"),
        "message_id": j.get("message_id"),
        "from": lst("from", True),
        "to": lst("to"),
        "cc": lst("cc"),
        "text_body": squash(j["text_body"]) if j.get("text_body") is not None else None,
        "html_body": squash(j["html_body"]) if j.get("html_body") is not None else None,
        "attachments": sorted("%s %s" % (squash(p["filename"]), p["sha256"][:16])
                              for p in j.get("parts", [])
                              if p.get("filename") and "/" not in p["path"]
                              and not p["content_type"].startswith("message/")),
    }


def same(field, a, b):
    if field in ("from",) and a is not None and b is not None:
        return [x[1] for x in a] == [x[1] for x in b] and [x[0] for x in a] == [x[0] for x in b]
    if a in (None, "", []) and b in (None, "", []):
        return True
    return a == b


def load_verdicts(path):
    v = {}
    if not os.path.exists(path):
        return v
    for line in open(path, encoding="utf-8"):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and cells[2] in ("ours wrong", "theirs wrong", "both defensible"):
            v[(cells[0].strip("`"), cells[1])] = (cells[2], cells[3])
    return v


def short(x, n=90):
    s = json.dumps(x, ensure_ascii=False)
    return s if len(s) <= n else s[:n] + "..."


def main():
    corpus, ours_tsv, verdict_file = sys.argv[1:4]
    listed = json.load(open(os.path.join(corpus, "python-email-view.json")))["messages"]
    ours = {}
    for line in open(ours_tsv, encoding="utf-8", errors="replace"):
        path, _, rest = line.rstrip("\n").partition("\t")
        ours[os.path.relpath(path, corpus)] = rest
    verdicts = load_verdicts(verdict_file)
    agree, total, rows, not_json = Counter(), Counter(), [], 0
    for rel in sorted(listed):
        raw = ours.get(rel)
        try:
            mine = our_view(json.loads(raw)) if raw and not raw.startswith("UNREADABLE") else None
        except ValueError:
            not_json += 1
            mine = None
        theirs = python_view(os.path.join(corpus, rel))
        for f in FIELDS:
            total[f] += 1
            a = mine[f] if mine else None
            if same(f, a, theirs[f]):
                agree[f] += 1
            else:
                rows.append((rel, f, a, theirs[f]))
    print("== agreement with CPython %s email (policy=default), %d messages ==" %
          (sys.version.split()[0], len(listed)))
    for f in FIELDS:
        print("  %-12s %3d/%3d  %5.1f%%" % (f, agree[f], total[f], 100.0 * agree[f] / total[f]))
    allf = sum(agree.values()), sum(total.values())
    print("  %-12s %3d/%3d  %5.1f%%" % ("all fields", allf[0], allf[1], 100.0 * allf[0] / allf[1]))
    if not_json:
        print("  output that is not JSON: %d messages" % not_json)
    kinds, unjudged = Counter(), 0
    print("== disagreements (verdicts: %s) ==" % verdict_file)
    for rel, f, a, b in rows:
        v = verdicts.get((rel, f))
        kinds[v[0] if v else "UNJUDGED"] += 1
        unjudged += v is None
        print("  %s [%s] %s\n      ours:   %s\n      python: %s" %
              (rel, f, v[0] if v else "UNJUDGED", short(a), short(b)))
    print("  verdicts: " + ", ".join("%s %d" % kv for kv in sorted(kinds.items())))
    return 1 if unjudged or not_json else 0


if __name__ == "__main__":
    sys.exit(main())
