"""The directory and API-token commands give the same answers on both
backends: one sequence of CLI commands (users, projects, stakeholders,
aliases, domains, tokens, with their refusals) runs against an SQLite store
and a PostgreSQL one, and every exit code, stdout and stderr must match,
byte for byte once the token texts and creation times (random, clock) are
masked.  Orders are part of it: names whose byte order differs from a
locale's (upper case, '-', '_', '.') and project ids that sort as numbers.

Needs a PostgreSQL cluster (POSTROOM_TEST_PG, as scripts/pg-test-cluster
start prints it); skipped without one, in either pass."""
import os
import re
import socket
import unittest

from harness import PG_ADMIN, Postroom, pg_fresh_database, psql

PASSWORD = b"correct horse battery staple\n"

# (argv, stdin) of each step, in order; every step runs on both stores.
STEPS = [
    (["domain", "add", "Firm.Example"], None),
    (["domain", "add", "firm.example"], None),              # served already
    (["domain", "add", "z-last.example"], None),
    (["domain", "add", "A.example"], None),
    (["domain", "list"], None),
    (["domain", "list", "--json"], None),
    (["domain", "remove", "nowhere.example"], None),
    (["user", "add", "alice", "--email", "Alice@Firm.example", "--email", "a.archer@home.example",
      "--display", "Alice Archer"], None),
    (["user", "add", "bob", "--email", "bob@firm.example"], None),
    (["user", "add", "Zed", "--email", "zed@firm.example"], None),
    (["user", "add", "_under", "--email", "u@firm.example"], None),
    (["user", "add", "-dash", "--email", "d@firm.example"], None),
    (["user", "add", "a.b", "--email", "ab@firm.example", "--display", "Ä Böhm"], None),
    # Only ASCII letters are folded (as SQLite's lower()): two addresses.
    (["user", "add", "ux", "--email", "Ärger@Firm.example"], None),
    (["user", "add", "uy", "--email", "ärger@firm.example"], None),
    (["user", "add", "alice", "--email", "alice2@firm.example"], None),           # name taken
    (["user", "add", "eve", "--email", "eve@firm.example", "--email", "BOB@firm.example"], None),
    (["user", "add", "eve", "--email", "eve@firm.example", "--email", "EVE@firm.example"], None),
    (["user", "list"], None),                                # eve: rolled back, never listed
    (["user", "list", "--json"], None),
    (["user", "disable", "bob"], None),
    (["user", "disable", "nobody"], None),
    (["user", "admin", "alice", "on"], None),
    (["user", "passwd", "alice", "--password-stdin"], PASSWORD),
    (["user", "list", "--json"], None),
    (["user", "enable", "bob"], None),
    (["project", "add", "1234", "--name", "Harbour"], None),
    (["project", "add", "77", "--name", "Bridge"], None),
    (["project", "add", "9", "--name", "Nine"], None),
    (["project", "add", "abc", "--name", "Letters"], None),
    (["project", "add", "ABD", "--name", "Capitals"], None),
    (["project", "add", "1234", "--name", "again"], None),   # exists
    (["project", "grant", "1234", "alice"], None),
    (["project", "grant", "1234", "alice"], None),           # twice: still one membership
    (["project", "grant", "1234", "Zed"], None),
    (["project", "grant", "1234", "-dash"], None),
    (["project", "grant", "999", "bob"], None),              # no project
    (["project", "grant", "77", "nobody"], None),            # no user
    (["project", "revoke", "77", "bob"], None),              # not a member
    (["project", "revoke", "1234", "-dash"], None),
    (["stakeholder", "add", "Olga Client", "--email", "Olga@Client.example"], None),
    (["stakeholder", "add", "olga b", "--email", "ob@client.example", "--email", "Alice@Firm.example"], None),
    (["stakeholder", "add", "Other", "--email", "OLGA@client.example"], None),       # taken
    (["stakeholder", "add", "Olga Client", "--email", "new@client.example"], None),  # name taken
    (["project", "stakeholder", "1234", "Olga Client"], None),
    (["project", "stakeholder", "1234", "olga b"], None),
    (["project", "stakeholder", "1234", "olga b"], None),
    (["project", "stakeholder", "1234", "Nobody"], None),
    (["project", "stakeholder", "404", "olga b"], None),
    (["stakeholder", "list"], None),
    (["stakeholder", "list", "--json"], None),
    (["project", "list"], None),
    (["project", "list", "--json"], None),
    (["alias", "add", "Team@Firm.example", "bob", "alice", "Zed"], None),
    (["alias", "add", "team@firm.EXAMPLE", "bob"], None),    # exists
    (["alias", "add", "x@firm.example", "alice", "ghost"], None),   # rolled back
    (["alias", "add", "y@other.example", "alice"], None),    # not our domain
    (["alias", "add", "-list@a.example", "_under"], None),
    (["alias", "list"], None),
    (["alias", "list", "--json"], None),
    (["token", "create", "--name", "deploy", "--scope", "admin", "--json"], None),
    (["token", "create", "--name", "reader"], None),
    (["token", "create", "--name", "deploy"], None),         # name taken
    (["token", "create", "--name", "x", "--scope", "root"], None),
    (["token", "list"], None),
    (["token", "list", "--json"], None),
    (["token", "revoke", "1"], None),
    (["token", "revoke", "1"], None),
    (["token", "revoke", "99"], None),
    (["token", "list", "--json"], None),
    (["user", "remove", "alice"], None),                     # leaves projects and aliases
    (["user", "remove", "alice"], None),
    (["alias", "list", "--json"], None),
    (["project", "list", "--json"], None),
    (["alias", "remove", "TEAM@firm.example"], None),
    (["alias", "remove", "team@firm.example"], None),
    (["domain", "remove", "FIRM.example"], None),
    (["domain", "remove", "firm.example"], None),
    (["domain", "list", "--json"], None),
    (["user", "list", "--json"], None),
]

# What differs by nature between two runs: a token's text and the clock.
MASKS = [
    (re.compile(rb"prt_[A-Za-z0-9_-]+"), b"prt_<token>"),
    (re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"), b"<time>"),
    (re.compile(rb"\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)?"), b"<time>"),
]


def masked(b):
    for rx, repl in MASKS:
        b = rx.sub(repl, b)
    return b


def installation(backend):
    """A Postroom whose store is of backend, whichever pass this is."""
    pr = Postroom()
    if backend == "sqlite" and pr.pg_database:
        psql(f"DROP DATABASE IF EXISTS {pr.pg_database} WITH (FORCE)")
        pr.pg_database = None
        pr.store = "sqlite:" + os.path.join(pr.dir, "postroom.db")
    elif backend == "postgres" and not pr.pg_database:
        pr.pg_database, pr.store = pg_fresh_database()
    return pr


@unittest.skipUnless(PG_ADMIN, "needs a PostgreSQL cluster (POSTROOM_TEST_PG)")
class BackendParity(unittest.TestCase):
    def test_directory_and_tokens_answer_alike(self):
        stores = {}
        for backend in ("sqlite", "postgres"):
            stores[backend] = installation(backend)
            self.addCleanup(stores[backend].cleanup)
        self.assertTrue(stores["postgres"].store.startswith("postgres"))
        for argv, stdin in STEPS:
            got = {}
            for backend, pr in stores.items():
                p = pr.cli(*argv, check=False, input=stdin)
                got[backend] = (p.returncode, masked(p.stdout), masked(p.stderr))
            with self.subTest(argv=argv):
                self.assertEqual(got["postgres"], got["sqlite"],
                                 f"postroom {' '.join(argv)}: PostgreSQL (first) differs from SQLite")
                self.assertNotIn(b"not built for PostgreSQL", got["postgres"][2])


    def test_rcpt_lookups_of_bytes_that_are_not_utf8(self):
        # A RCPT address is looked up in the directory (alias, user, domain)
        # as the peer sent it; PostgreSQL refuses bytes that are not UTF-8
        # in a query, so such a lookup must find nothing -- as in SQLite --
        # instead of failing the store (a 4xx the peer retries for days).
        rcpts = [b"a\xffb@firm.example", b"te\xc3am@firm.example", b"TEAM@firm.example",
                 b"\xc0\xaf@firm.example", b"a1234@firm.example", b"Alice@Firm.Example",
                 b"x@fi\xffrm.example", b"a\xed\xa0\x80b@firm.example"]
        answers = {}
        for backend in ("sqlite", "postgres"):
            pr = installation(backend)
            self.addCleanup(pr.cleanup)
            pr.seed_basic()
            pr.start()
            answers[backend] = rcpt_answers(pr.smtp_port, b"alice@firm.example", rcpts)
        self.assertEqual(len(answers["postgres"]), len(rcpts) + 1, answers["postgres"])
        for rcpt, pg, sq in zip(rcpts + [b"(the message)"], answers["postgres"], answers["sqlite"]):
            with self.subTest(rcpt=rcpt):
                self.assertEqual(pg, sq, "PostgreSQL (first) answers otherwise than SQLite")
                self.assertFalse(pg.startswith(b"4"), pg)


def rcpt_answers(port, sender, rcpts):
    """The reply line to each RCPT TO:<r> of one SMTP session (raw bytes:
    smtplib would not send what is not ASCII)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        f = s.makefile("rb")

        def reply(line=None):
            if line is not None:
                s.sendall(line + b"\r\n")
            r = f.readline()
            while r[3:4] == b"-":
                r = f.readline()
            return r.rstrip(b"\r\n")

        reply()
        reply(b"EHLO client.example")
        assert reply(b"MAIL FROM:<" + sender + b">").startswith(b"250")
        out = [reply(b"RCPT TO:<" + r + b">") for r in rcpts]
        # Then the message, to whichever were accepted: what is stored
        # (the envelope's raw recipients among it) must commit on both.
        if any(a.startswith(b"250") for a in out):
            if reply(b"DATA").startswith(b"354"):
                msg = (b"From: " + sender + b"\r\nTo: a1234@firm.example\r\nSubject: bytes\r\n"
                       b"Message-ID: <bytes-parity@firm.example>\r\n\r\nHello.\r\n.")
                out.append(b"DATA: " + reply(msg))
        reply(b"QUIT")
        return out


if __name__ == "__main__":
    unittest.main()
