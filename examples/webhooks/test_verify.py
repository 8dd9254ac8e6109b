"""python3 -m unittest examples/webhooks/test_verify.py: the vectors booking-core signs
(tests/data/webhooks/vectors.json, checked against booking_core::signing::sign_webhook by
shared/tests/webhook_vectors.rs) verify, and every altered one does not."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from verify import verify  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


class Vectors(unittest.TestCase):
    def test_vectors(self):
        with open(os.path.join(ROOT, "tests/data/webhooks/vectors.json"), encoding="utf-8") as f:
            vectors = json.load(f)
        self.assertGreater(len(vectors), 2)
        for v in vectors:
            secret, body, t = v["secret"].encode(), v["body"].encode(), v["t"]
            self.assertEqual(verify(secret, body, v["header"], now=t + v["nowOffset"]), v["valid"], v["why"])


if __name__ == "__main__":
    unittest.main()
