//! Durations (`"15m"`, `"1h30m"`) and sizes (`"50MiB"`, `"10MB"`) as people write them.

use std::time::Duration;

const DURATION_UNITS: &str = "ms, s, m, h or d";
const SIZE_UNITS: &str = "B, KB, KiB, MB, MiB, GB, GiB, TB or TiB";

/// Parses a duration written as one or more `<integer><unit>` parts: `"15m"`, `"5d"`, `"2s"`,
/// `"500ms"`, `"0s"`, `"1h30m"`. Units are `ms`, `s`, `m`, `h`, `d`; a unit is always required.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(surel_config::parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
/// assert!(surel_config::parse_duration("15").is_err());
/// ```
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad =
        |why: &str| format!("{s:?} is not a duration ({why}; e.g. \"15m\", \"5d\", \"1h30m\")");
    let text = s.trim();
    if text.is_empty() {
        return Err(bad("it is empty"));
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad("expected a whole number"));
        }
        let (number, after) = rest.split_at(digits);
        let after = after.trim_start();
        let unit_len = after.bytes().take_while(u8::is_ascii_alphabetic).count();
        let (unit, after) = after.split_at(unit_len);
        let number: u64 = number.parse().map_err(|_| bad("number too large"))?;
        let millis_per_unit: u64 = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "" => return Err(bad(&format!("missing unit: use {DURATION_UNITS}"))),
            other => {
                return Err(bad(&format!(
                    "unknown unit {other:?}: use {DURATION_UNITS}"
                )));
            }
        };
        let millis = number
            .checked_mul(millis_per_unit)
            .ok_or_else(|| bad("too large"))?;
        total = total
            .checked_add(Duration::from_millis(millis))
            .ok_or_else(|| bad("too large"))?;
        rest = after.trim_start();
    }
    Ok(total)
}

/// Parses a size in octets: a plain integer (`"1000"`) or an integer with a unit, decimal
/// (`"10MB"`, `"5KB"`: powers of 1000) or binary (`"50MiB"`, `"64KiB"`, `"1GiB"`: powers of 1024).
/// Units are case-insensitive and may follow a space.
///
/// ```
/// assert_eq!(surel_config::parse_size("64KiB"), Ok(65536));
/// assert_eq!(surel_config::parse_size("10MB"), Ok(10_000_000));
/// ```
pub fn parse_size(s: &str) -> Result<u64, String> {
    let bad =
        |why: &str| format!("{s:?} is not a size ({why}; e.g. \"50MiB\", \"64KiB\", \"1000\")");
    let text = s.trim();
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return Err(bad("expected a whole number"));
    }
    let (number, unit) = text.split_at(digits);
    let number: u64 = number.parse().map_err(|_| bad("number too large"))?;
    let unit = unit.trim_start();
    let multiplier: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        _ => return Err(bad(&format!("unknown unit {unit:?}: use {SIZE_UNITS}"))),
    };
    number
        .checked_mul(multiplier)
        .ok_or_else(|| bad("too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_table() {
        for (text, secs, millis) in [
            ("15m", 900, 0),
            ("5d", 432_000, 0),
            ("2s", 2, 0),
            ("4h", 14_400, 0),
            ("500ms", 0, 500),
            ("0s", 0, 0),
            ("1h30m", 5_400, 0),
            ("1h 30m", 5_400, 0),
            ("15 m", 900, 0),
            ("1s500ms", 1, 500),
            (" 10s ", 10, 0),
        ] {
            let expected = Duration::from_secs(secs) + Duration::from_millis(millis);
            assert_eq!(parse_duration(text), Ok(expected), "{text:?}");
        }
    }

    #[test]
    fn bad_durations_say_why() {
        for (text, why) in [
            ("", "empty"),
            ("15", "missing unit"),
            ("15x", "unknown unit \"x\""),
            ("m", "whole number"),
            ("-5s", "whole number"),
            ("1.5h", "missing unit"),
            ("5 potatoes", "unknown unit \"potatoes\""),
            ("5potatoes", "unknown unit \"potatoes\""),
            ("99999999999999999999s", "too large"),
            ("999999999999999999d", "too large"),
        ] {
            let err = parse_duration(text).expect_err(text);
            assert!(
                err.contains("is not a duration") && err.contains(why),
                "{text:?}: {err}"
            );
        }
    }

    #[test]
    fn sizes_table() {
        for (text, value) in [
            ("50MiB", 50 * 1024 * 1024),
            ("64KiB", 65_536),
            ("1GiB", 1 << 30),
            ("1000", 1000),
            ("10MB", 10_000_000),
            ("5KB", 5_000),
            ("5kb", 5_000),
            ("12 B", 12),
            ("2 mib", 2 << 20),
            ("0", 0),
        ] {
            assert_eq!(parse_size(text), Ok(value), "{text:?}");
        }
    }

    #[test]
    fn bad_sizes_say_why() {
        for (text, why) in [
            ("", "whole number"),
            ("MiB", "whole number"),
            ("50 potatoes", "unknown unit \"potatoes\""),
            ("1.5GiB", "unknown unit \".5GiB\""),
            ("-1", "whole number"),
            ("99999999999999999999", "too large"),
            ("99999999999TiB", "too large"),
        ] {
            let err = parse_size(text).expect_err(text);
            assert!(
                err.contains("is not a size") && err.contains(why),
                "{text:?}: {err}"
            );
        }
    }
}
