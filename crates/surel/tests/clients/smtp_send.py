#!/usr/bin/env python3
"""Sends one message with Python's smtplib and prints every reply as one JSON object on stdout.

Used by the Rust integration tests (crates/surel/tests/*.rs), which assert on the JSON.

  smtp_send.py --port PORT --from ADDR --to ADDR [--to ADDR ...] --message-file FILE
               [--host 127.0.0.1] [--starttls] [--sendmail]

Default mode drives smtplib step by step (ehlo, [starttls, ehlo], mail, rcpt..., data) so each
reply is recorded. --sendmail uses smtplib's one-call SMTP.sendmail(), the way most programs
send mail, and records what it returned or raised. `--from ""` sends the null sender <>.
The certificate is not verified (surel's default certificate is self-signed).
"""

import argparse
import json
import smtplib
import ssl
import sys


def reply(pair):
    code, text = pair
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return {"code": code, "text": text}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--from", dest="sender", required=True)
    p.add_argument("--to", action="append", default=[])
    p.add_argument("--message-file", required=True)
    p.add_argument("--starttls", action="store_true")
    p.add_argument("--sendmail", action="store_true")
    p.add_argument("--timeout", type=float, default=30.0)
    a = p.parse_args()
    with open(a.message_file, "rb") as f:
        message = f.read()

    out = {}
    smtp = smtplib.SMTP(a.host, a.port, local_hostname="client.surel.test", timeout=a.timeout)
    try:
        out["ehlo"] = reply(smtp.ehlo())
        out["features"] = sorted(smtp.esmtp_features)
        out["size"] = smtp.esmtp_features.get("size")
        if a.starttls:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            out["starttls"] = reply(smtp.starttls(context=context))
            out["tls_version"] = smtp.sock.version()
            out["ehlo_after_tls"] = reply(smtp.ehlo())
            out["features_after_tls"] = sorted(smtp.esmtp_features)
        if a.sendmail:
            try:
                refused = smtp.sendmail(a.sender, a.to, message)
                out["sendmail"] = {
                    "ok": True,
                    "refused": {k: reply(v) for k, v in refused.items()},
                }
            except smtplib.SMTPRecipientsRefused as e:
                out["sendmail"] = {
                    "ok": False,
                    "error": "SMTPRecipientsRefused",
                    "refused": {k: reply(v) for k, v in e.recipients.items()},
                }
            except smtplib.SMTPResponseException as e:
                out["sendmail"] = {
                    "ok": False,
                    "error": type(e).__name__,
                    "reply": reply((e.smtp_code, e.smtp_error)),
                }
        else:
            out["mail"] = reply(smtp.mail(a.sender))
            out["rcpt"] = [dict(reply(smtp.rcpt(to)), to=to) for to in a.to]
            out["data"] = None
            if out["mail"]["code"] == 250 and any(r["code"] == 250 for r in out["rcpt"]):
                try:
                    out["data"] = reply(smtp.data(message))
                except smtplib.SMTPDataError as e:
                    out["data"] = reply((e.smtp_code, e.smtp_error))
        out["quit"] = reply(smtp.quit())
    finally:
        smtp.close()
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
