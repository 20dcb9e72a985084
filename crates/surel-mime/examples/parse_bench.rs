//! `cargo run --release -p surel-mime --example parse_bench`: µs per `MessageInfo::parse` for
//! three typical messages.

use std::hint::black_box;
use std::time::Instant;

use surel_mime::MessageInfo;

const HEADER: &str = "Return-Path: <alice@example.org>\r\n\
Received: from mx.example.org (mx.example.org [192.0.2.1])\r\n\tby mail.example.net with ESMTPS id 4Xyz\r\n\tfor <bob@example.net>; Mon, 3 Nov 2025 10:00:00 +0000\r\n\
DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org; s=s1;\r\n\th=from:to:subject:date:message-id; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\r\n\tb=dzdVyOfAKCdLXdJOc9G2q8LoXSlEniSbav+yuU4zGeeruD00lszZVoG4ZHRNiYzR\r\n\
From: Alice Example <alice@example.org>\r\n\
To: Bob <bob@example.net>, \"Carol, C.\" <carol@example.net>\r\n\
Cc: team: dave@example.net, erin@example.net;\r\n\
Subject: =?utf-8?q?Quarterly_report_=E2=80=93_draft?=\r\n\
Date: Mon, 3 Nov 2025 10:59:59 +0100\r\n\
Message-ID: <20251103105959.12345@example.org>\r\n\
In-Reply-To: <20251102080000.999@example.net>\r\n\
MIME-Version: 1.0\r\n";

fn text_lines(n: usize) -> String {
    let line = "The quick brown fox jumps over the lazy dog, again and again and again.\r\n";
    line.repeat(n)
}

fn plain() -> Vec<u8> {
    let mut m = String::from(HEADER);
    m.push_str("Content-Type: text/plain; charset=utf-8\r\n\r\n");
    m.push_str(&text_lines(19));
    m.into_bytes()
}

fn alternative() -> Vec<u8> {
    let mut m = String::from(HEADER);
    m.push_str("Content-Type: multipart/alternative; boundary=\"=_alt_4f2c\"\r\n\r\n");
    m.push_str("--=_alt_4f2c\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n");
    m.push_str(&text_lines(40));
    m.push_str("--=_alt_4f2c\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<html><body>\r\n");
    m.push_str(&text_lines(44));
    m.push_str("</body></html>\r\n--=_alt_4f2c--\r\n");
    m.into_bytes()
}

fn attachment() -> Vec<u8> {
    let mut m = String::from(HEADER);
    m.push_str("Content-Type: multipart/mixed; boundary=\"=_mix_77\"\r\n\r\n");
    m.push_str("--=_mix_77\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n");
    m.push_str(&text_lines(10));
    m.push_str("--=_mix_77\r\nContent-Type: application/pdf; name=\"report.pdf\"\r\nContent-Disposition: attachment; filename=\"report.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n");
    let b64 = "JVBERi0xLjQKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFIvRmlsdGVyIC9GbGF0ZURlY29k\r\n";
    m.push_str(&b64.repeat(1240));
    m.push_str("--=_mix_77--\r\n");
    m.into_bytes()
}

fn main() {
    for (name, msg) in [
        ("plain", plain()),
        ("multipart/alternative", alternative()),
        ("attachment", attachment()),
    ] {
        let runs = if msg.len() > 50_000 { 5_000 } else { 50_000 };
        for _ in 0..runs / 10 {
            black_box(MessageInfo::parse(black_box(&msg)));
        }
        let start = Instant::now();
        for _ in 0..runs {
            black_box(MessageInfo::parse(black_box(&msg)));
        }
        let per = start.elapsed().as_secs_f64() * 1e6 / runs as f64;
        println!("{name:>22}: {:>7} octets  {per:>8.2} µs/message", msg.len());
    }
}
