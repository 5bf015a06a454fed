"""Checks Praxis's two-factor set-up with pyotp, an independent RFC 6238 implementation.

Reads JSON from stdin: {"uri": <otpauth:// address from the enrolment>, "account":
<expected account>, "times": [<unix seconds>, ...]}. Parses the address as an
authenticator app would, checks what it says (TOTP, SHA-1, 6 digits, 30 s, issuer
Praxis, the account) and prints a JSON list of the codes pyotp computes at those times.
"""
import json
import sys

import pyotp

case = json.load(sys.stdin)
totp = pyotp.parse_uri(case["uri"])
assert isinstance(totp, pyotp.TOTP), "not a time-based code"
assert totp.digits == 6, totp.digits
assert totp.interval == 30, totp.interval
assert totp.issuer == "Praxis", totp.issuer
assert totp.name == case["account"], totp.name
assert totp.digest().name == "sha1", totp.digest().name
print(json.dumps([totp.at(t) for t in case["times"]]))
