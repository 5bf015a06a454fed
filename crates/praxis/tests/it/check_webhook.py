"""Checks Praxis webhook signatures independently of Praxis's own code.

Reads JSON lines from stdin: {"body": <exact body text>, "header": <Praxis-Signature>,
"secret": <endpoint secret>}. For each, verifies the header with the official stripe
package's verifier (Praxis signs with Stripe's scheme) and, separately, with Python's
own hmac module. Prints one JSON list of booleans (true = both accept it).
"""
import hashlib
import hmac
import json
import sys

import stripe

results = []
for line in sys.stdin:
    if not line.strip():
        continue
    case = json.loads(line)
    body, header, secret = case["body"], case["header"], case["secret"]
    try:
        # The timestamp is the test's fake clock, so recency is not checked here.
        stripe.WebhookSignature.verify_header(body, header, secret, tolerance=None)
        by_stripe = True
    except stripe.SignatureVerificationError:
        by_stripe = False
    parts = dict(item.split("=", 1) for item in header.split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.{body}".encode(), hashlib.sha256).hexdigest()
    by_hmac = hmac.compare_digest(expected, parts.get("v1", ""))
    results.append(by_stripe and by_hmac)
print(json.dumps(results))
