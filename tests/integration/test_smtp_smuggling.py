"""SMTP smuggling (CVE-2023-51764/5/6): the 13 sessions of
../shared/testdata/smtp/sessions, each written whole and then byte by byte
against the real server.  Pass: no message from smuggled@ is stored or
logged as accepted, no 250 answers the smuggled transaction, and every
bare-LF/CR variant is refused with 554 5.6.11.  The NUL variants are not
fake ends (only CRLF.CRLF ends DATA): that message may be stored whole,
smuggled text and all, as one message from test@."""
import os
import unittest

from harness import PostroomCase, shared_or_skip
from test_smtp import raw_session, reply_codes, stored, raw_of, log_entries

# Sequences that contain a bare CR or LF: the message must be refused.
NUL_ONLY = {"eod-nullbefore.bin", "eod-nullafter.bin"}


class SmtpSmuggling(PostroomCase):
    # The sessions' sender is unknown to the directory: file such mail in
    # Unassigned, so the sender policy does not hide what DATA did.
    config = {"unknown_sender": "unassigned"}

    def sessions(self, tag=b""):
        """(name, bytes) per session file; Message-IDs made unique per tag
        so the duplicate check does not hide a second delivery."""
        base = os.path.join(shared_or_skip(self), "smtp", "sessions")
        for name in sorted(os.listdir(base)):
            with open(os.path.join(base, name), "rb") as f:
                data = f.read().replace(b"postroom.test", b"firm.example")
                yield name, data.replace(b"Message-ID: <", b"Message-ID: <" + tag)

    def check_no_smuggled(self, label):
        msgs = stored(self.pr)
        for m in msgs:
            self.assertNotIn("smuggled", m["from"], label)
            self.assertFalse(m["subject"].startswith("SMUGGLED"), label)
        for e in log_entries(self.pr):
            if "smuggled" in e["mail_from"]:
                self.assertNotEqual(e["verdict"], "accepted", label)
        return msgs

    def run_all(self, trickle):
        for name, data in self.sessions(b"t%d-" % trickle):
            if not name.startswith("eod-"):
                continue
            label = f"{name} ({'byte by byte' if trickle else 'whole'})"
            before = len(stored(self.pr))
            codes = reply_codes(raw_session(self.pr.smtp_port, data, trickle=trickle))
            after_data = [c for c, _ in codes[codes.index((354, "send the message, end with <CRLF>.<CRLF>")) + 1:]]
            msgs = self.check_no_smuggled(label)
            if name in NUL_ONLY:
                # one message, one answer, then QUIT
                self.assertEqual(after_data, [250, 221], label)
                self.assertEqual(len(msgs), before + 1, label)
                self.assertIn(b"SMUGGLING WORKS", raw_of(self.pr, msgs[0]["id"]), label)
            else:
                self.assertEqual(after_data, [554, 221], label)
                refusal = [t for c, t in codes if c == 554][0]
                self.assertTrue(refusal.startswith("5.6.11"), label)
                self.assertEqual(len(msgs), before, label)

    def test_fake_end_of_data_whole(self):
        self.run_all(trickle=False)

    def test_fake_end_of_data_byte_by_byte(self):
        self.run_all(trickle=True)

    def test_pipelining_after_data(self):
        for trickle in (False, True):
            data = dict(self.sessions(b"t%d-" % trickle))["pipelining-after-data.bin"]
            before = len(stored(self.pr))
            codes = [c for c, _ in reply_codes(raw_session(self.pr.smtp_port, data, trickle=trickle))]
            # 220, EHLO, (MAIL, RCPT, DATA, 354->250) twice, QUIT: in order, none lost or doubled
            self.assertEqual(codes, [220, 250, 250, 250, 354, 250, 250, 250, 354, 250, 221])
            subjects = sorted(m["subject"] for m in stored(self.pr))
            self.assertEqual(len(subjects), before + 2)
        self.assertEqual(subjects.count("Hello World"), 2)
        self.assertEqual(subjects.count("Hello World 2"), 2)


if __name__ == "__main__":
    unittest.main()
