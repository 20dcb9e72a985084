#!/usr/bin/env python3
"""Submits one message the way a mail program does: smtplib with STARTTLS (or implicit TLS),
AUTH, then MAIL/RCPT/DATA. Prints every reply as one JSON object on stdout.

  smtp_submit.py --port PORT --user USER --password PW --from ADDR --to ADDR [--to ...]
                 --message-file FILE [--ssl] [--no-auth] [--mechanism PLAIN|LOGIN]

Stops at the first refused step and records it. The certificate is not verified (the test
servers' certificates are self-signed).
"""

import argparse
import json
import smtplib
import ssl


def text(t):
    return t.decode("utf-8", "replace") if isinstance(t, bytes) else str(t)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--user", default="")
    p.add_argument("--password", default="")
    p.add_argument("--from", dest="sender", required=True)
    p.add_argument("--to", action="append", default=[])
    p.add_argument("--message-file", required=True)
    p.add_argument("--ssl", action="store_true")
    p.add_argument("--no-auth", action="store_true")
    p.add_argument("--mechanism", default="PLAIN")
    a = p.parse_args()
    with open(a.message_file, "rb") as f:
        message = f.read()
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    out = {"steps": []}

    def step(name, pair):
        code, msg = pair
        out["steps"].append({"step": name, "code": code, "text": text(msg)})
        return code

    try:
        if a.ssl:
            s = smtplib.SMTP_SSL(a.host, a.port, context=ctx, timeout=30)
        else:
            s = smtplib.SMTP(a.host, a.port, timeout=30)
        step("ehlo", s.ehlo())
        if not a.ssl:
            step("starttls", s.starttls(context=ctx))
            step("ehlo", s.ehlo())
        out["auth_offered"] = s.esmtp_features.get("auth", "")
        if not a.no_auth:
            if a.mechanism == "LOGIN":
                s.user, s.password = a.user, a.password
                code = step("auth", s.auth("LOGIN", s.auth_login, initial_response_ok=False))
            else:
                try:
                    code = step("auth", s.login(a.user, a.password))
                except smtplib.SMTPAuthenticationError as e:
                    code = step("auth", (e.smtp_code, e.smtp_error))
            if code != 235:
                raise StopIteration
        if step("mail", s.mail(a.sender)) != 250:
            raise StopIteration
        for rcpt in a.to:
            step("rcpt", s.rcpt(rcpt))
        step("data", s.data(message))
        s.quit()
    except StopIteration:
        pass
    print(json.dumps(out))


if __name__ == "__main__":
    main()
