#!/usr/bin/env python3
"""Writes the winmail.dat cases of this corpus (11, 13, 14): TNEF built
record by record (MS-OXTNEF), so the bytes are known and small.

  11-tnef-damaged:   two files, then a record whose length runs past the end
                     (libytnef printed an error on stdout and we listed nothing)
  13-tnef-rich-text: Outlook rich text: an ordinary file, an embedded OLE
                     object (PR_ATTACH_DATA_OBJ as PT_OBJECT), and the body as
                     LZFu-compressed RTF (PR_RTF_COMPRESSED)
  14-tnef-mela:      the RTF body stored uncompressed ("MELA")
"""
import base64
import struct

PT_BINARY, PT_OBJECT, PT_STRING8 = 0x0102, 0x000D, 0x001E
RTF = b"{\\rtf1\\ansi Hello from Outlook rich text.}"


def attr(level, aid, data):
    return struct.pack("<BII", level, aid, len(data)) + data + struct.pack("<H", sum(data) & 0xffff)


def prop(ptype, pid, data):
    return struct.pack("<HHII", ptype, pid, 1, len(data)) + data + b"\0" * (-len(data) % 4)


def mapi(props):
    return struct.pack("<I", len(props)) + b"".join(props)


def crc(data):                       # MS-OXRTFCP 2.1.3.2
    c = 0
    for b in data:
        c ^= b
        for _ in range(8):
            c = (c >> 1) ^ (0xEDB88320 if c & 1 else 0)
    return c


def lzfu(raw):                       # literal runs only: a valid LZFu stream
    body = b"".join(b"\x00" + raw[i:i + 8] for i in range(0, len(raw), 8))
    return struct.pack("<IIII", len(body) + 12, len(raw), 0x75465A4C, crc(body)) + body


def mela(raw):
    return struct.pack("<IIII", len(raw) + 12, len(raw), 0x414C454D, 0) + raw


def tnef(files=(), ole=None, rtf=None, damaged=False):
    out = struct.pack("<IH", 0x223E9F78, 0x0102)
    out += attr(1, 0x00089006, struct.pack("<I", 0x00010000))          # attTnefVersion
    out += attr(1, 0x00078008, b"IPM.Microsoft Mail.Note\0")           # attMessageClass
    if rtf is not None:
        out += attr(1, 0x00069003, mapi([prop(PT_BINARY, 0x1009, rtf)]))  # attMsgProps
    for name, data in files:
        out += attr(2, 0x00069002, b"\x01\x00\x00\x00" + b"\xff" * 10)  # attAttachRendData
        out += attr(2, 0x00018010, name + b"\0")                       # attAttachTitle
        out += attr(2, 0x0006800F, data)                               # attAttachData
    if ole is not None:
        name, data = ole
        out += attr(2, 0x00069002, b"\x02\x00\x00\x00" + b"\xff" * 10)
        out += attr(2, 0x00069005, mapi([prop(PT_STRING8, 0x3001, name + b"\0"),
                                         prop(PT_OBJECT, 0x3701, b"\x11" * 16 + data)]))
    if damaged:
        out += struct.pack("<BII", 2, 0x00069005, 0x7fffff00) + b"\x00" * 8
    return out


def message(name, subject, mid, dat, disposition):
    msg = ("From: Exchange User <ex@example.com>\nTo: p@example.org\nSubject: %s\n"
           "Message-ID: <%s@example.com>\nMIME-Version: 1.0\n"
           "Content-Type: multipart/mixed; boundary=\"tn\"\n\n--tn\nContent-Type: text/plain\n\n"
           "see the attachments\n--tn\nContent-Type: application/ms-tnef; name=\"winmail.dat\"\n%s"
           "Content-Transfer-Encoding: base64\n\n%s--tn--\n"
           % (subject, mid, disposition, base64.encodebytes(dat).decode()))
    with open(name, "w", newline="") as f:
        f.write(msg.replace("\n", "\r\n"))


message("11-tnef-damaged.eml", "winmail.dat with a damaged end", "tnef-1",
        tnef([(b"report.txt", b"quarterly report\n"), (b"photo.bin", bytes(range(256)))], damaged=True),
        "Content-Disposition: attachment; filename=\"winmail.dat\"\n")
message("13-tnef-rich-text.eml", "Outlook rich text with an embedded object", "tnef-2",
        tnef([(b"minutes.txt", b"minutes of the meeting\n")], ole=(b"Diagram.vsd", b"\x02\x03" + bytes(range(40))),
             rtf=lzfu(RTF)), "")
message("14-tnef-mela.eml", "Outlook rich text stored uncompressed", "tnef-3", tnef(rtf=mela(RTF)), "")
