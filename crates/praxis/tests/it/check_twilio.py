"""Signs an SMS webhook the way Twilio does, with the official twilio package.

Reads JSON from stdin: {"token": <auth token>, "url": <address called>, "fields":
{<name>: <value>}}. Prints the X-Twilio-Signature the package computes, after checking
that its own validator accepts it.
"""
import json
import sys

from twilio.request_validator import RequestValidator

case = json.load(sys.stdin)
validator = RequestValidator(case["token"])
signature = validator.compute_signature(case["url"], case["fields"])
assert validator.validate(case["url"], case["fields"], signature)
print(signature)
