//! MISP's vocabulary: what a UUID looks like, how MISP's database compares
//! names, which object templates exist. A leaf: the config loader and the
//! rule engine both read it, and it reads neither.

pub mod object_templates;
mod text;

pub use text::{PHP_TRIM, normalise};

/// A UUID as a number (either case), for compact sets of them.
pub fn uuid_number(s: &str) -> Option<u128> {
    if !is_uuid(s) {
        return None;
    }
    let mut n: u128 = 0;
    for c in s.bytes().filter(|c| *c != b'-') {
        n = (n << 4) | u128::from((c as char).to_digit(16)? as u8);
    }
    Some(n)
}

/// `8-4-4-4-12` hexadecimal digits, either case.
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}
