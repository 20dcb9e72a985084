//! `decode_command` and `LineFramer` on arbitrary bytes: never panic, never consume more than
//! was given, never return an empty step that would stall a driver loop.

#![no_main]

use libfuzzer_sys::fuzz_target;
use surel_smtp_proto::{Decoded, LineFramer, decode_command};

fuzz_target!(|data: &[u8]| {
    let Some((&first, input)) = data.split_first() else {
        return;
    };
    let max_line = 8 + usize::from(first) * 4;

    // Stateless: the whole input as one buffer.
    match decode_command(input, max_line) {
        Ok(Decoded::Done(cmd, n)) => {
            assert!(n > 0 && n <= input.len() && n <= max_line);
            let _ = cmd.verb();
        }
        Ok(Decoded::NeedMore) => assert!(input.len() < max_line.max(1)),
        Ok(Decoded::Skip(_)) => panic!("decode_command never skips"),
        Err(e) => {
            assert!(e.skip() > 0 && e.skip() <= input.len());
            let mut wire = Vec::new();
            e.reply().encode(&mut wire);
            assert!(wire.ends_with(b"\r\n"));
        }
    }

    // A driver loop over the input arriving in pieces of varying size.
    let mut framer = LineFramer::new(max_line);
    let mut buf: Vec<u8> = Vec::new();
    let mut pieces = input.chunks(1 + usize::from(first % 17));
    loop {
        match framer.decode(&buf) {
            Ok(Decoded::Done(_, n)) => {
                assert!(n > 0 && n <= buf.len());
                buf.drain(..n);
            }
            Ok(Decoded::Skip(n)) => {
                assert!(n > 0 && n <= buf.len());
                buf.drain(..n);
            }
            Ok(Decoded::NeedMore) => match pieces.next() {
                Some(piece) => buf.extend_from_slice(piece),
                None => break,
            },
            Err(e) => {
                assert!(e.skip() > 0 && e.skip() <= buf.len());
                buf.drain(..e.skip());
            }
        }
        // Memory stays bounded by the line limit plus one piece.
        assert!(buf.len() <= max_line + 17);
    }
});
