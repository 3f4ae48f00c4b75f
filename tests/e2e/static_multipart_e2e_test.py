#!/usr/bin/python3
"""Static files, ranges and multipart uploads over a real socket, with Python requests and curl.

Usage: static_multipart_e2e_test.py <path to vial-server-fixture>
"""
import os
import subprocess
import sys
import tempfile
import unittest

import requests

from process import Fixture

Fixture.binary = sys.argv.pop(1) if len(sys.argv) > 1 else None


class StaticAndMultipartE2E(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        root = os.path.join(cls.tmp.name, "public")
        os.makedirs(os.path.join(root, "css"))
        cls.big = os.urandom(3 * 1024 * 1024 + 17)  # streamed, not loaded whole
        with open(os.path.join(root, "big.bin"), "wb") as f:
            f.write(cls.big)
        with open(os.path.join(root, "css", "site.css"), "w") as f:
            f.write("body { color: teal; }\n")
        with open(os.path.join(cls.tmp.name, "secret.txt"), "w") as f:
            f.write("do not serve\n")
        os.symlink(os.path.join(cls.tmp.name, "secret.txt"), os.path.join(root, "escape.txt"))
        cls.fixture = Fixture("--static", root)
        cls.base = cls.fixture.base

    @classmethod
    def tearDownClass(cls):
        assert cls.fixture.terminate() == 0
        cls.tmp.cleanup()

    def test_serves_a_file_with_type_and_validators(self):
        r = requests.get(self.base + "/static/css/site.css", timeout=5)
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.text, "body { color: teal; }\n")
        self.assertTrue(r.headers["Content-Type"].startswith("text/css"))
        etag = r.headers["ETag"]
        self.assertIn("Last-Modified", r.headers)
        again = requests.get(self.base + "/static/css/site.css",
                             headers={"If-None-Match": etag}, timeout=5)
        self.assertEqual(again.status_code, 304)
        self.assertEqual(again.content, b"")

    def test_large_file_arrives_whole(self):
        r = requests.get(self.base + "/static/big.bin", timeout=30)
        self.assertEqual(r.status_code, 200)
        self.assertEqual(len(r.content), len(self.big))
        self.assertEqual(r.content, self.big)

    def test_range_requests(self):
        r = requests.get(self.base + "/static/big.bin", headers={"Range": "bytes=100-199"},
                         timeout=5)
        self.assertEqual(r.status_code, 206)
        self.assertEqual(r.content, self.big[100:200])
        self.assertEqual(r.headers["Content-Range"], f"bytes 100-199/{len(self.big)}")
        tail = requests.get(self.base + "/static/big.bin", headers={"Range": "bytes=-10"},
                            timeout=5)
        self.assertEqual(tail.content, self.big[-10:])
        past = requests.get(self.base + "/static/big.bin",
                            headers={"Range": f"bytes={len(self.big) + 5}-"}, timeout=5)
        self.assertEqual(past.status_code, 416)

    def test_traversal_is_refused(self):
        # curl --path-as-is keeps the dots; requests would normalise them away.
        for path in ["/static/../secret.txt", "/static/%2e%2e/secret.txt",
                     "/static/%252e%252e/secret.txt", "/static/css/..%2f..%2fsecret.txt",
                     "/static/escape.txt"]:
            out = subprocess.run(["curl", "-s", "--path-as-is", "-o", "/dev/null", "-w",
                                  "%{http_code}", self.base + path],
                                 capture_output=True, text=True, timeout=10)
            self.assertIn(out.stdout, ("400", "403", "404"), path)
            body = subprocess.run(["curl", "-s", "--path-as-is", self.base + path],
                                  capture_output=True, text=True, timeout=10).stdout
            self.assertNotIn("do not serve", body, path)
        self.assertEqual(requests.get(self.base + "/hello", timeout=5).status_code, 200)

    def test_multipart_upload(self):
        payload = os.urandom(200_000)
        r = requests.post(self.base + "/form", data={"title": "héllo", "tag": "a"},
                          files={"doc": ("report.pdf", payload, "application/pdf")}, timeout=10)
        self.assertEqual(r.status_code, 200, r.text)
        body = r.json()
        self.assertEqual(body["fields"], {"title": "héllo", "tag": "a"})
        self.assertEqual(body["files"], [{"field": "doc", "filename": "report.pdf",
                                          "content_type": "application/pdf",
                                          "size": len(payload)}])

    def test_malformed_multipart_is_400_and_server_keeps_serving(self):
        r = requests.post(self.base + "/form", data=b"--x\r\nno headers here",
                          headers={"Content-Type": "multipart/form-data; boundary=x"}, timeout=5)
        self.assertEqual(r.status_code, 400)
        self.assertEqual(requests.get(self.base + "/hello", timeout=5).status_code, 200)

    def test_curl_upload(self):
        out = subprocess.run(["curl", "-s", "-F", "name=ada", "-F", "f=@-;filename=x.txt",
                              self.base + "/form"], input="abc", capture_output=True, text=True,
                             timeout=10)
        self.assertIn('"name":"ada"', out.stdout)
        self.assertIn('"size":3', out.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
