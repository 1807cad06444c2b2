"""Self-tests of the differential harness (no servers needed).

    python3 -m unittest tests/diff/test_harness.py
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import gen  # noqa: E402
import script  # noqa: E402
from engine import compare  # noqa: E402
from resp import ProtocolError, encode_command, parse_reply, quote_arg, split_args  # noqa: E402


def parse_all(data):
    out = []
    pos = 0
    while pos < len(data):
        parsed = parse_reply(data, pos)
        if parsed is None:
            raise AssertionError("incomplete at %d" % pos)
        reply, pos = parsed
        out.append(reply)
    return out


class ParseReplyTest(unittest.TestCase):
    def test_simple_types(self):
        data = b"+OK\r\n-ERR x\r\n:5\r\n$3\r\nfoo\r\n$-1\r\n*-1\r\n_\r\n,1.5\r\n#t\r\n(123\r\n"
        replies = parse_all(data)
        self.assertEqual([r.type for r in replies], list("+-:$$*_,#("))
        self.assertEqual(b"".join(r.raw for r in replies), data)
        self.assertEqual(replies[3].payload(), b"foo")
        self.assertTrue(replies[4].is_null)
        self.assertTrue(replies[5].is_null)

    def test_aggregates(self):
        data = b"*2\r\n$1\r\na\r\n*1\r\n:1\r\n%1\r\n+k\r\n~2\r\n:1\r\n:2\r\n>2\r\n+m\r\n+x\r\n"
        replies = parse_all(data)
        self.assertEqual([r.type for r in replies], ["*", "%", ">"])
        self.assertEqual(len(replies[0].children), 2)
        self.assertEqual(len(replies[1].children), 2)
        self.assertEqual(len(replies[1].children[1].children), 2)

    def test_blob_with_crlf_inside(self):
        data = b"$4\r\na\r\nb\r\n=7\r\ntxt:a\r\n\r\n!3\r\nERR\r\n"
        replies = parse_all(data)
        self.assertEqual(replies[0].payload(), b"a\r\nb")
        self.assertEqual(replies[1].payload(), b"txt:a\r\n")
        self.assertTrue(replies[2].is_error())

    def test_attribute_belongs_to_next_reply(self):
        data = b"|1\r\n+a\r\n:1\r\n$2\r\nhi\r\n"
        replies = parse_all(data)
        self.assertEqual(len(replies), 1)
        self.assertEqual(replies[0].type, "$")
        self.assertEqual(replies[0].payload(), b"hi")
        self.assertEqual(len(replies[0].attribute.children), 2)
        self.assertEqual(replies[0].raw, data)

    def test_incomplete_returns_none(self):
        for data in (b"", b"$3\r\nfo", b"*2\r\n:1\r\n", b"+OK", b"%1\r\n+a\r\n"):
            self.assertIsNone(parse_reply(data, 0), data)

    def test_malformed_raises(self):
        for data in (b"?x\r\n", b"$x\r\n", b"$3\r\nfooXY"):
            with self.assertRaises(ProtocolError):
                parse_reply(data, 0)


class SplitArgsTest(unittest.TestCase):
    def test_quoting(self):
        self.assertEqual(split_args("SET a b"), [b"SET", b"a", b"b"])
        self.assertEqual(split_args('SET "a b" \'c d\''), [b"SET", b"a b", b"c d"])
        self.assertEqual(split_args(r'X "\x41\n\r\t\\\"" ' + r"'it\'s'"), [b"X", b'A\n\r\t\\"', b"it's"])
        self.assertEqual(split_args('X ""'), [b"X", b""])
        self.assertEqual(split_args("BITFIELD k GET u8 #1"), [b"BITFIELD", b"k", b"GET", b"u8", b"#1"])
        self.assertEqual(split_args("X \xe9"), [b"X", b"\xe9"])

    def test_errors(self):
        for line in ('X "abc', "X 'abc", 'X "a"b'):
            with self.assertRaises(Exception):
                split_args(line)

    def test_quote_roundtrip(self):
        for b in (b"plain", b"", b"a b", b"\x00\xff\r\n", b'q"uote', b"back\\slash"):
            self.assertEqual(split_args(quote_arg(b).encode("latin-1").decode("latin-1")), [b])

    def test_encode(self):
        self.assertEqual(encode_command([b"GET", "k"]), b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")


class ScriptTest(unittest.TestCase):
    def test_markers_and_directives(self):
        steps = script.parse([
            "# comment", "", "GET k", "! TTL k", "~ KEYS *", "? DEBUG x", "% OBJECT ENCODING k",
            '@expect "-ERR x\\r\\n"', "GET y", "@scan HSCAN h 0 COUNT 2", "@read 2",
            "@conn other", "@sleep 10", "@timeout 0.5",
        ])
        kinds = [(s.kind, s.mode) for s in steps]
        self.assertEqual(kinds, [
            ("cmd", "exact"), ("cmd", "type"), ("cmd", "unordered"), ("cmd", "skip"),
            ("cmd", "strenc"), ("cmd", "exact"), ("scan", "unordered"), ("read", "exact"),
            ("conn", "exact"), ("sleep", "exact"), ("timeout", "exact"),
        ])
        self.assertEqual(steps[5].expect, b"-ERR x\r\n")
        self.assertEqual(steps[1].args, [b"TTL", b"k"])

    def test_bad_scripts(self):
        for lines in (["@expect \"x\""], ["@bogus"], ["@scan GET k"], ['GET "a']):
            with self.assertRaises(script.ScriptError):
                script.parse(lines)

    def test_case_files_parse(self):
        cases = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cases")
        for name in sorted(os.listdir(cases)):
            if name.endswith(".txt"):
                path = os.path.join(cases, name)
                self.assertTrue(script.parse(script.read_lines(path), name))


class CompareTest(unittest.TestCase):
    def r(self, data):
        return parse_reply(data, 0)[0]

    def test_modes(self):
        a = self.r(b"*2\r\n$1\r\na\r\n$1\r\nb\r\n")
        b = self.r(b"*2\r\n$1\r\nb\r\n$1\r\na\r\n")
        self.assertIsNotNone(compare("exact", a, b))
        self.assertIsNone(compare("unordered", a, b))
        self.assertIsNone(compare("type", self.r(b":1\r\n"), self.r(b":2\r\n")))
        self.assertIsNotNone(compare("type", self.r(b":1\r\n"), self.r(b"-ERR\r\n")))
        m1 = self.r(b"%2\r\n+a\r\n:1\r\n+b\r\n:2\r\n")
        m2 = self.r(b"%2\r\n+b\r\n:2\r\n+a\r\n:1\r\n")
        m3 = self.r(b"%2\r\n+b\r\n:1\r\n+a\r\n:2\r\n")
        self.assertIsNone(compare("unordered", m1, m2))
        self.assertIsNotNone(compare("unordered", m1, m3))
        self.assertIsNone(compare("strenc", self.r(b"$6\r\nembstr\r\n"), self.r(b"$3\r\nraw\r\n")))
        self.assertIsNotNone(compare("strenc", self.r(b"$6\r\nembstr\r\n"), self.r(b"$3\r\nint\r\n")))


class GenTest(unittest.TestCase):
    def test_deterministic_and_parseable(self):
        a = gen.generate(5, 500)
        self.assertEqual(a, gen.generate(5, 500))
        self.assertNotEqual(a, gen.generate(6, 500))
        steps = script.parse(a, "gen")
        self.assertGreaterEqual(len(steps), 500)

    def test_every_family(self):
        for fam in gen.FAMILIES:
            script.parse(gen.generate(1, 200, [fam]), fam)
        with self.assertRaises(ValueError):
            gen.generate(1, 10, ["nosuch"])


if __name__ == "__main__":
    unittest.main()
