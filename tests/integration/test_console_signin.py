"""Signing in to the web console in a real browser (issue 14): the form
refuses a wrong password in words and stays, the right one opens the
console with an HttpOnly, SameSite=Strict session cookie.  axe-core on the
form and on the first page; screenshots in the directory the test prints."""
import unittest

from browser import ConsoleCase


class ConsoleSignInTest(ConsoleCase):
    def test_sign_in(self):
        doc = self.scenario("sign_in")["result"]
        self.assertTrue(doc["refused"].strip(), "a wrong password must be refused in words")
        self.assertEqual(doc["session"]["user"], "alice")
        cookie = [c for c in doc["cookies"] if c["name"] == "postroom_session"]
        self.assertEqual(len(cookie), 1, doc["cookies"])
        self.assertTrue(cookie[0]["httpOnly"])
        self.assertEqual(cookie[0]["sameSite"], "Strict")
        # Reopened with the cookie, the page is drawn once (not again as
        # each page module registers).
        self.assertEqual(doc["draws"], 1)


if __name__ == "__main__":
    unittest.main()
