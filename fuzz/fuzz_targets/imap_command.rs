//! The IMAP `Framer` and `parse_command` on arbitrary bytes: never panic, keep memory within the
//! limits, never stall; what parses as LOGIN survives an encode-parse roundtrip; modified UTF-7
//! that decodes re-encodes to something that decodes the same.

#![no_main]

use libfuzzer_sys::fuzz_target;
use surel_imap_proto::{
    BytesMut, CommandBody, Framed, Framer, Limits, encode, mutf7, parse_command,
};

fuzz_target!(|data: &[u8]| {
    let Some((&first, input)) = data.split_first() else {
        return;
    };
    let limits = Limits {
        line: 16 + usize::from(first & 0x3f) * 4,
        literal: u64::from(first >> 4) * 8,
        command: 64 + u64::from(first) * 2,
    };

    // Stateless: the whole input as one command.
    check(input);

    // A driver loop over the input arriving in pieces of varying size.
    let mut framer = Framer::new(limits);
    let mut buf = BytesMut::new();
    for piece in input.chunks(1 + usize::from(first % 13)) {
        buf.extend_from_slice(piece);
        while let Some(framed) = framer.next(&mut buf) {
            if let Framed::Command(cmd) = framed {
                assert!(!cmd.is_empty());
                assert!(cmd.len() as u64 <= limits.command);
                check(&cmd);
            }
        }
        // The framer takes everything it is given.
        assert!(buf.is_empty());
    }

    if let Some(name) = mutf7::decode(input) {
        assert_eq!(
            mutf7::decode(mutf7::encode(&name).as_bytes()).as_ref(),
            Some(&name)
        );
    }
});

fn check(cmd: &[u8]) {
    let Ok(parsed) = parse_command(cmd) else {
        return;
    };
    if let CommandBody::Login { username, password } = &parsed.body {
        let mut wire = format!("{} LOGIN ", parsed.tag).into_bytes();
        encode::astring(&mut wire, username);
        wire.push(b' ');
        encode::astring(&mut wire, password);
        wire.extend_from_slice(b"\r\n");
        assert_eq!(parse_command(&wire).as_ref(), Ok(&parsed));
    }
}
