"""How Python's email package reads a message: the message on stdin, JSON on stdout.

- "subject", "date" (ISO 8601) and "utc_offset" (seconds), as
  email.policy.default parses them;
- for each of From, To, Cc, Reply-To present: a list of
  {"display_name", "addr_spec", "rfc2047"}, where "rfc2047" is the display
  name decoded by email.header (which drops the white space between two
  encoded-words, as RFC 2047 section 6.2 says);
- "keeps_space_between_encoded_words": whether this Python's address parser
  shows the white space between two encoded-words in a display name as a
  space (CPython gh-128110, fixed in newer versions).
"""

import email
import email.policy
import email.utils
import json
import re
import sys
from email.header import decode_header, make_header

raw = sys.stdin.buffer.read()
msg = email.message_from_bytes(raw, policy=email.policy.default)
plain = email.message_from_bytes(raw)  # compat32: header values as written

out = {"subject": str(msg["subject"])}
date = msg["date"].datetime
out["date"] = date.isoformat()
out["utc_offset"] = date.utcoffset().total_seconds()

for name in ("from", "to", "cc", "reply-to"):
    if msg[name] is None:
        continue
    unfolded = re.sub(r"\r?\n(?=[ \t])", "", str(plain[name]))
    names = [
        str(make_header(decode_header(display)))
        for display, _ in email.utils.getaddresses([unfolded])
    ]
    out[name] = [
        {"display_name": a.display_name, "addr_spec": a.addr_spec, "rfc2047": n}
        for a, n in zip(msg[name].addresses, names)
    ]

probe = email.message_from_bytes(
    b"From: =?utf-8?b?5pel?=\r\n =?utf-8?b?5pys?= <a@example.com>\r\n\r\n",
    policy=email.policy.default,
)
out["keeps_space_between_encoded_words"] = (
    probe["from"].addresses[0].display_name != "\u65e5\u672c"
)

json.dump(out, sys.stdout, ensure_ascii=False)
