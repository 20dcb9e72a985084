//! The POP3 command parser, line framer, SASL decoders and message encoder on arbitrary bytes:
//! never panic, never consume more than was given, keep memory bounded by the line limit, and
//! the message encoder's output unstuffs back to `wire_size` octets.

#![no_main]

use libfuzzer_sys::fuzz_target;
use surel_pop3_proto::{BodyEncoder, Decoded, LineFramer, parse_command, sasl, wire_size};

fuzz_target!(|data: &[u8]| {
    let Some((&first, input)) = data.split_first() else {
        return;
    };
    let max_line = 8 + usize::from(first) * 2;

    if let Ok(cmd) = parse_command(input) {
        let _ = cmd.verb();
    }
    if let Ok(sasl::SaslResponse::Data(bytes)) = sasl::parse_response(input) {
        let _ = sasl::decode_plain(&bytes);
        assert_eq!(
            sasl::decode_base64(sasl::encode_base64(&bytes).as_bytes()),
            Ok(bytes)
        );
    }

    // A driver loop over the input arriving in pieces of varying size.
    let mut framer = LineFramer::new(max_line);
    let mut buf: Vec<u8> = Vec::new();
    let mut pieces = input.chunks(1 + usize::from(first % 13));
    loop {
        match framer.decode(&buf) {
            Ok(Decoded::Done(_, n)) | Ok(Decoded::Skip(n)) => {
                assert!(n > 0 && n <= buf.len());
                buf.drain(..n);
            }
            Ok(Decoded::NeedMore) => match pieces.next() {
                Some(piece) => buf.extend_from_slice(piece),
                None => break,
            },
            Err((_, n)) => {
                assert!(n > 0 && n <= buf.len());
                buf.drain(..n);
            }
        }
        assert!(buf.len() <= max_line.max(255) + 13);
    }

    // RETR: every line CRLF-terminated, byte-stuffed, and the right size once unstuffed.
    let mut out = Vec::new();
    let mut enc = BodyEncoder::new(None);
    for piece in input.chunks(1 + usize::from(first % 7)) {
        enc.feed(piece, &mut out);
    }
    enc.finish(&mut out);
    let body = out.strip_suffix(b".\r\n").expect("terminated");
    let mut unstuffed = 0u64;
    for line in body.split_inclusive(|&b| b == b'\n') {
        assert!(line.ends_with(b"\r\n"));
        assert!(
            !line[..line.len() - 2].contains(&b'\r') && !line[..line.len() - 2].contains(&b'\n')
        );
        if line.first() == Some(&b'.') {
            assert!(line.get(1) == Some(&b'.'));
            unstuffed += line.len() as u64 - 1;
        } else {
            unstuffed += line.len() as u64;
        }
    }
    assert_eq!(unstuffed, wire_size(input));

    // TOP never writes more than RETR.
    let mut top = Vec::new();
    let mut enc = BodyEncoder::new(Some(u32::from(first % 4)));
    enc.feed(input, &mut top);
    enc.finish(&mut top);
    assert!(top.len() <= out.len());
});
