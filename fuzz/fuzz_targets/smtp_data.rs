//! `DataDecoder` (and the `BodyChecker` BDAT relies on) fed arbitrary bytes in arbitrary chunks: never panic, `Done`
//! never claims more than its chunk, chunking never changes the outcome, and a message passed as
//! clean has only CRLF line endings and no NUL.

#![no_main]

use libfuzzer_sys::fuzz_target;
use surel_smtp_proto::{
    BodyChecker, BodyLimits, DataDecoder, DataProgress, check_body,
};

fuzz_target!(|data: &[u8]| {
    let Some((&[a, b], input)) = data.split_first_chunk::<2>() else {
        return;
    };
    let limits = BodyLimits {
        max_size: u64::from(a) * 16,
        max_line: 2 + usize::from(b),
    };

    // One chunk.
    let mut whole = DataDecoder::new(limits);
    let one = match whole.feed(input) {
        DataProgress::Done {
            consumed,
            violation,
        } => {
            assert!(consumed <= input.len());
            Some((consumed, violation))
        }
        DataProgress::NeedMore => None,
    };

    // Chunks of sizes taken from the input itself.
    let mut dec = DataDecoder::new(limits);
    let mut offset = 0;
    let mut chunked = None;
    let mut rest = input;
    while !rest.is_empty() {
        let size = 1 + usize::from(rest[0] % 13);
        let (chunk, tail) = rest.split_at(size.min(rest.len()));
        if let DataProgress::Done {
            consumed,
            violation,
        } = dec.feed(chunk)
        {
            assert!(consumed <= chunk.len());
            chunked = Some((offset + consumed, violation));
            break;
        }
        offset += chunk.len();
        rest = tail;
    }
    assert_eq!(one, chunked, "chunking changed the outcome");

    if let Some((consumed, violation)) = one {
        let framed = &input[..consumed];
        assert!(framed == b".\r\n" || framed.ends_with(b"\r\n.\r\n"));
        if violation.is_none() {
            let message = whole.into_message();
            assert_eq!(check_body(&message, limits), Ok(()));
            assert!(message.is_empty() || message.ends_with(b"\r\n"));
        }
    }

    // The incremental checker over two chunks (a CRLF may straddle them) must agree with the
    // whole-body check that BDAT uses.
    let split = usize::from(a).min(input.len());
    let (first, second) = input.split_at(split);
    let mut checker = BodyChecker::new(limits);
    checker.check(first);
    checker.check(second);
    assert_eq!(checker.finish(), check_body(input, limits).err());
});
